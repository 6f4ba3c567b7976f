"""MongoDB roles on a real server (SecantusDB, auth on): the app user writes and reads with
secondaryPreferred; the sandbox user reads market data and is refused everything else."""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure

from kwont_common.mongo import Mongo, readonly_market
from kwont_common.settings import Settings
from kwont_devstack.pytest_plugin import MongoEndpoint

pytestmark = pytest.mark.integration
UNAUTHORIZED = r"(?i)not authori[sz]ed|unauthori[sz]ed"


@pytest.fixture
def settings(mongo: MongoEndpoint) -> Settings:
    return Settings(
        service_name="test", mongo_uri=mongo.app_uri, mongo_readonly_uri=mongo.readonly_uri
    )


async def test_app_user_writes_on_primary_and_reads_secondary_preferred(settings: Settings) -> None:
    db = Mongo.connect(settings)
    try:
        await db.wait_ready()
        await db.write.strategies.insert_one({"_id": "s1", "owner": "alice"})
        assert await db.read.strategies.find_one({"_id": "s1"}) == {"_id": "s1", "owner": "alice"}
        assert db.read.read_preference.mongos_mode == "secondaryPreferred"
        await db.write.strategies.delete_one({"_id": "s1"})
    finally:
        await db.close()


async def test_readonly_user_reads_market_data_and_is_refused_any_write(
    settings: Settings,
) -> None:
    db = Mongo.connect(settings)
    sandbox = readonly_market(settings)
    try:
        await db.market_write.candles.insert_one({"_id": "BTCUSDT:1m:0", "symbol": "BTCUSDT"})
        assert (await sandbox.candles.find_one({"_id": "BTCUSDT:1m:0"}))["symbol"] == "BTCUSDT"
        with pytest.raises(OperationFailure, match=UNAUTHORIZED):
            await sandbox.candles.insert_one({"symbol": "EVIL"})
        with pytest.raises(OperationFailure, match=UNAUTHORIZED):
            await sandbox.candles.delete_many({})
        with pytest.raises(OperationFailure, match=UNAUTHORIZED):
            await sandbox.drop_collection("candles")
        other = sandbox.client[settings.mongo_database]
        with pytest.raises(OperationFailure, match=UNAUTHORIZED):
            await other.users.find_one({})
        assert await db.market_read.candles.count_documents({"symbol": "BTCUSDT"}) == 1
    finally:
        await db.market_write.candles.delete_many({"_id": "BTCUSDT:1m:0"})
        await sandbox.client.close()
        await db.close()
