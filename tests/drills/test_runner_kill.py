"""Drill: backtest-runner killed with SIGKILL while one job runs and others wait.

Its uncommitted job messages come back to the restarted runner; a job that was running is
run again (the status document says ``running`` with a stale heartbeat) and every job ends
exactly once: one stored result, one result event id, equal to the engine's own run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kwont_devstack.mongo_users import MongoEndpoint
from tests.drills import backtests as bt
from tests.drills.harness import DrillRecord, record, until

pytestmark = [pytest.mark.e2e, pytest.mark.drill]


async def test_runner_kill9_mid_job_every_job_ends_once(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, redis_url: str,
    docker_engine: str, sandbox_image: str, unique_name: str, tmp_path: Path,
) -> None:  # fmt: skip
    prefix = f"{unique_name}."
    symbol, candles = bt.drill_candles(mongo)
    await bt.prepare_topics(kafka_bootstrap, prefix)
    p = bt.runner_pipeline(kafka_bootstrap, mongo, mongo_db, prefix, tmp_path / "logs",
                           docker_engine, sandbox_image,
                           {"KWONT_REDIS_URL": redis_url})  # fmt: skip
    batch = bt.jobs(symbol, 4)
    ids = [str(j["job_id"]) for j in batch]
    rec = DrillRecord("runner kill -9", "SIGKILL backtest-runner mid-job")
    p.start("backtest-runner")
    try:
        p.wait_ready("backtest-runner", timeout=90)
        await bt.submit(bt.settings_of(kafka_bootstrap, prefix), batch)

        async def one_running() -> bool:
            docs = await bt.statuses(mongo, mongo_db, ids)
            return any(d["status"] == "running" for d in docs.values())

        await until(one_running, 60, "a job running")
        p.kill9("backtest-runner")
        killed = time.monotonic()
        docs = await bt.statuses(mongo, mongo_db, ids)
        rec.notes.append("at the kill: " + ",".join(sorted(d["status"] for d in docs.values())))
        p.start("backtest-runner")
        p.wait_ready("backtest-runner", timeout=90)
        rec.to_healthy_s = time.monotonic() - killed
        await until(lambda: bt.all_final(mongo, mongo_db, ids), 120, "every job final")
        rec.to_done_s = time.monotonic() - killed
        await bt.check_results(rec, mongo, mongo_db, kafka_bootstrap, prefix, batch, candles)
    finally:
        record(rec)
        p.stop_all()
    assert rec.ok, rec
