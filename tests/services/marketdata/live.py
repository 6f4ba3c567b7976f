"""Helpers of the live-feed tests (not tests themselves): settings on fresh topics and a
fresh database, and reading what the feeds published."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kwont_common.events import Candle, Tick
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database, Mongo
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_marketdata import store
from kwont_marketdata.outlet import Outlet
from kwont_marketdata.settings import MarketdataSettings
from tests.libs.common.kafka_helpers import create, read_all


async def live_settings(
    bootstrap: str, mongo: MongoEndpoint, mongo_db: str, partitions: int = 1, **kw: object
) -> MarketdataSettings:
    """Settings on a fresh topic prefix and consumer group, ``ticks`` and ``candles`` created."""
    fields: dict[str, object] = {
        "service_name": "marketdata", "kafka_bootstrap_servers": bootstrap,
        "kafka_idempotence": False, "topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
        "consumer_group": f"g-{uuid.uuid4().hex[:10]}", "startup_timeout_s": 20,
        "mongo_uri": mongo.app_uri, "mongo_database": mongo_db,
        "mongo_market_database": mongo_db, "metrics_port": 0, "symbols_refresh_s": 0,
        "log_json": False,
    }  # fmt: skip
    fields.update(kw)
    settings = MarketdataSettings.model_validate(fields)
    await create(settings, "ticks", "candles", partitions=partitions)
    return settings


@asynccontextmanager
async def outlet(settings: MarketdataSettings) -> AsyncIterator[Outlet]:
    """A started producer and the market database, as the service has them."""
    mongo = Mongo.connect(settings)
    producer = EventProducer(settings)
    await producer.start()
    try:
        await store.ensure_indexes(mongo.market_write)
        yield Outlet(producer, mongo.market_write)
    finally:
        await producer.stop()
        await mongo.close()


async def read_candles(
    settings: MarketdataSettings, count: int, timeout: float = 20
) -> list[Candle]:
    raw = await read_all(settings.kafka_bootstrap_servers, f"{settings.topic_prefix}candles",
                         count, timeout)  # fmt: skip
    return [Candle.model_validate_json(v) for v in raw]


async def read_ticks(settings: MarketdataSettings, count: int, timeout: float = 20) -> list[Tick]:
    raw = await read_all(settings.kafka_bootstrap_servers, f"{settings.topic_prefix}ticks",
                         count, timeout)  # fmt: skip
    return [Tick.model_validate_json(v) for v in raw]


def market_db(settings: MarketdataSettings) -> tuple[Mongo, Database]:
    mongo = Mongo.connect(settings)
    return mongo, mongo.market_write
