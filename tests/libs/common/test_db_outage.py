"""A database outage is transient: the consumer retries the message with backoff (its
readiness degraded meanwhile) and never dead-letters it; once the database is back the
message is handled exactly once. Two outages on a real SecantusDB of its own (the
session's is shared, so it cannot be stopped): the server killed with SIGKILL and
restarted on its data, and the app user refused (its role revoked, then granted again).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, WriteConcern

from kwont_common.kafka import EventConsumer, EventProducer
from kwont_common.testing import candle
from kwont_devstack.mongo_users import APP_USER, MongoCredentials, client
from kwont_devstack.process import EngineProcess, free_port
from kwont_devstack.secantusdb import start_secantus
from tests.libs.common.kafka_helpers import create, publish, read_all, settings_for, wait_for

pytestmark = pytest.mark.integration
ROLE = [{"role": "readWrite", "db": "outage"}]


async def test_a_database_outage_is_retried_never_dead_lettered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    data, log = tmp_path / "mongo", tmp_path / "secantusdb.log"
    creds, port = MongoCredentials.generate(), free_port("127.0.0.1")
    engine, own = start_secantus("127.0.0.1", port, data, log, creds)

    def restart(old: EngineProcess | None) -> EngineProcess:
        """Stop the server (if running; a clean stop, so the grant just changed is on disk)
        and start it again on its data."""
        if old is not None:
            old.stop()
        return start_secantus("127.0.0.1", port, data, log, creds)[0]

    with client(own.admin_uri) as admin:
        admin.admin.command("grantRolesToUser", APP_USER, roles=ROLE)
    # retries every 50 ms: each attempt while the server is down fails within 300 ms
    settings = settings_for(kafka_bootstrap, handler_max_attempts=2)
    await create(settings, "candles")
    db: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        own.app_uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300
    )
    attempts: list[int] = []
    handled: list[int] = []

    async def on_candle(c: Any) -> None:
        attempts.append(c.trades)
        # journaled: SecantusDB can lose the last unjournaled writes to a SIGKILL
        handled_docs = db.outage.get_collection("handled", write_concern=WriteConcern(j=True))
        await handled_docs.update_one({"_id": c.trades}, {"$inc": {"n": 1}}, upsert=True)
        handled.append(c.trades)

    producer = EventProducer(settings)
    await producer.start()
    consumer = EventConsumer(settings, producer, {"candles": on_candle})
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await publish(settings, candle(open_time=1_700_000_000_000, trades=0))
        await wait_for(lambda: handled == [0], timeout=30)
        assert not consumer.degraded

        # 1. the server killed: attempts fail to connect until it is back
        engine.popen.send_signal(signal.SIGKILL)
        engine.popen.wait(10)
        await publish(settings, candle(open_time=1_700_000_060_000, trades=1))
        await wait_for(lambda: attempts.count(1) >= 5, timeout=30)
        assert consumer.degraded  # /readyz says so
        engine = restart(None)
        await wait_for(lambda: handled == [0, 1], timeout=30)

        # 2. the server restarts without the app user's grant: "not authorized" until an
        # operator grants it again (SecantusDB binds a connection's roles at login, so the
        # grant takes effect on the connections made after a restart)
        with client(own.admin_uri) as admin:
            admin.admin.command("revokeRolesFromUser", APP_USER, roles=ROLE)
        engine = restart(engine)
        await publish(settings, candle(open_time=1_700_000_120_000, trades=2))
        await wait_for(lambda: attempts.count(2) >= 5, timeout=30)
        assert consumer.degraded
        with client(own.admin_uri) as admin:
            admin.admin.command("grantRolesToUser", APP_USER, roles=ROLE)
        engine = restart(engine)
        await wait_for(lambda: handled == [0, 1, 2], timeout=30)
        await wait_for(lambda: not consumer.degraded, timeout=10)

        counts = {d["_id"]: d["n"] async for d in db.outage.handled.find({})}
        assert counts == {0: 1, 1: 1, 2: 1}  # each handled once
    finally:
        stop.set()
        await task
        await producer.stop()
        await db.close()
        engine.stop()
    with pytest.raises(TimeoutError):  # nothing was dead-lettered
        await read_all(kafka_bootstrap, f"{settings.topic_prefix}candles.dlq", 1, timeout=3)
