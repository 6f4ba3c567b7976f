"""Drill: the broker (tansu, memory-only) killed with SIGKILL and restarted empty while
backtests run and wait.

The runner notices (/readyz says ``topics`` degraded), recreates every topic with the
configured partitions, its consumer rejoins, and the reaper puts back the jobs whose messages
the broker lost (stored as ``queued`` or ``running``): every job ends once, equal to the
engine's run. The drill has a broker of its own (restarting the session's would empty it
under every other test).
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_common.kafka.admin import partition_counts
from kwont_common.topics import all_topic_names
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_devstack.process import free_port
from kwont_devstack.servicerun import http_get
from kwont_devstack.tansu import start_tansu
from kwont_gateway.backtests import new_doc
from tests.drills import backtests as bt
from tests.drills.harness import DrillRecord, record, until

# in `make drill` only: about 80 s, and the requeued jobs wait out the reaper's deadlines
pytestmark = [pytest.mark.e2e, pytest.mark.drill, pytest.mark.drill_long]
DOWN_S = 3.0


async def test_broker_restart_losing_everything_jobs_resume_from_stored_state(
    mongo: MongoEndpoint, mongo_db: str, redis_url: str, docker_engine: str,
    sandbox_image: str, unique_name: str, tmp_path: Path,
) -> None:  # fmt: skip
    port = free_port("127.0.0.1")
    broker = start_tansu("127.0.0.1", port, tmp_path / "tansu.1.log", cluster_id="drill")
    kafka, prefix = f"127.0.0.1:{port}", f"{unique_name}."
    symbol, candles = bt.drill_candles(mongo)
    await bt.prepare_topics(kafka, prefix)
    p = bt.runner_pipeline(kafka, mongo, mongo_db, prefix, tmp_path / "logs", docker_engine,
                           sandbox_image, {
                               "KWONT_REDIS_URL": redis_url, "KWONT_TOPIC_CHECK_S": "1",
                               "KWONT_REAPER_INTERVAL_S": "1", "KWONT_REAPER_HEARTBEAT_S": "6",
                               "KWONT_REAPER_QUEUED_S": "15", "KWONT_REAPER_MAX_REQUEUES": "4",
                           })  # fmt: skip
    batch = bt.jobs(symbol, 4)
    ids = [str(j["job_id"]) for j in batch]
    rec = DrillRecord("broker restart", "SIGKILL tansu, restart empty")
    conn: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    await conn[mongo_db].backtests.insert_many(
        [new_doc(str(j["job_id"]), "drill", j) for j in batch]
    )
    await conn.close()
    p.start("backtest-runner")
    try:
        p.wait_ready("backtest-runner", timeout=90)
        await bt.submit(bt.settings_of(kafka, prefix), batch)

        async def one_running() -> bool:
            docs = await bt.statuses(mongo, mongo_db, ids)
            return any(d["status"] == "running" for d in docs.values())

        await until(one_running, 60, "a job running")
        broker.popen.send_signal(signal.SIGKILL)
        broker.popen.wait(10)
        killed = time.monotonic()
        await asyncio.sleep(DOWN_S)  # an operator's restart is not instant
        broker = start_tansu("127.0.0.1", port, tmp_path / "tansu.2.log", cluster_id="drill")
        restarted = time.monotonic() - killed
        readyz = f"http://127.0.0.1:{p.procs['backtest-runner'].port}/readyz"

        async def degraded() -> bool:
            return http_get(readyz)[0] != 200

        async def healthy() -> bool:
            return http_get(readyz)[0] == 200

        await until(degraded, 15, "/readyz degraded after the broker's loss", poll=0.1)
        await until(healthy, 60, "/readyz healthy again")
        rec.to_healthy_s = time.monotonic() - killed
        rec.notes.append(f"broker back in {restarted:.1f}s")
        names = all_topic_names(prefix)
        counts = await partition_counts(bt.settings_of(kafka, prefix), names)
        wrong = {n: c for n, c in counts.items() if c != 2}
        assert len(counts) == len(names) and not wrong, (len(counts), len(names), wrong)
        await until(lambda: bt.all_final(mongo, mongo_db, ids), 120, "every job final")
        rec.to_done_s = time.monotonic() - killed
        docs = await bt.check_results(rec, mongo, mongo_db, kafka, prefix, batch, candles,
                                      need_event=False)  # fmt: skip
        requeued = sum(1 for d in docs.values() if d.get("requeued"))
        rec.notes.append(f"{requeued} requeued by the reaper")
    finally:
        record(rec)
        p.stop_all()
        broker.stop()
    assert rec.ok, rec
