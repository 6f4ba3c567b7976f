"""Drill: a sandbox container killed with SIGKILL (its process, by pid) mid-job.

A job whose container is killed once is run again and succeeds; a job whose container is
killed on every run fails after ``sandbox_attempts`` runs, with each run's reason; neither
stays ``running``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import docker
import pytest

from kwont_backtest_runner.sandbox_pool import containers_of
from kwont_devstack.mongo_users import MongoEndpoint
from tests.drills import backtests as bt
from tests.drills.harness import DrillRecord, record, until

pytestmark = [pytest.mark.e2e, pytest.mark.drill]


def kill_container_of(client: docker.DockerClient, job_id: str) -> int | None:
    """SIGKILL the init process of ``job_id``'s running container; its pid, or None."""
    for c in containers_of(client, job_id):
        pid = int(c.attrs["State"].get("Pid") or 0)
        if pid > 0:
            os.kill(pid, signal.SIGKILL)
            return pid
    return None


async def kill_runs(client: docker.DockerClient, job_id: str, times: int, timeout: float) -> int:
    """Kill ``job_id``'s container each time one runs, ``times`` times; how many were."""
    killed, last = 0, None
    deadline = time.monotonic() + timeout
    while killed < times and time.monotonic() < deadline:
        pid = await asyncio.to_thread(kill_container_of, client, job_id)
        if pid is not None and pid != last:
            killed, last = killed + 1, pid
        await asyncio.sleep(0.05)
    return killed


async def test_sandbox_killed_mid_job_is_retried_then_failed_with_the_reason(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, redis_url: str,
    docker_engine: str, sandbox_image: str, unique_name: str, tmp_path: Path,
) -> None:  # fmt: skip
    prefix = f"{unique_name}."
    symbol, candles = bt.drill_candles(mongo)
    await bt.prepare_topics(kafka_bootstrap, prefix)
    p = bt.runner_pipeline(kafka_bootstrap, mongo, mongo_db, prefix, tmp_path / "logs",
                           docker_engine, sandbox_image,
                           {"KWONT_REDIS_URL": redis_url, "KWONT_SANDBOX_ATTEMPTS": "3",
                            "KWONT_SANDBOX_RETRY_WAIT_S": "5"})  # fmt: skip
    once, always = bt.jobs(symbol, 2)
    client = docker.DockerClient(base_url=docker_engine)
    rec_once = DrillRecord("sandbox killed once", "SIGKILL container pid, 1 of 3 runs")
    rec_all = DrillRecord("sandbox killed always", "SIGKILL container pid, every run")
    p.start("backtest-runner")
    try:
        p.wait_ready("backtest-runner", timeout=90)
        settings = bt.settings_of(kafka_bootstrap, prefix)
        await bt.submit(settings, [once])
        started = time.monotonic()
        assert await kill_runs(client, str(once["job_id"]), 1, 60) == 1
        await until(lambda: bt.all_final(mongo, mongo_db, [str(once["job_id"])]), 90, "retried")
        rec_once.to_done_s = time.monotonic() - started
        docs = await bt.check_results(rec_once, mongo, mongo_db, kafka_bootstrap, prefix,
                                      [once], candles)  # fmt: skip
        attempts = docs[once["job_id"]].get("attempts")
        rec_once.notes.append(f"attempts recorded: {attempts}")

        await bt.submit(settings, [always])
        started = time.monotonic()
        assert await kill_runs(client, str(always["job_id"]), 3, 120) == 3
        await until(lambda: bt.all_final(mongo, mongo_db, [str(always["job_id"])]), 60, "failed")
        rec_all.to_done_s = time.monotonic() - started
        docs = await bt.check_results(rec_all, mongo, mongo_db, kafka_bootstrap, prefix,
                                      [always], candles, expect="failed")  # fmt: skip
        error = str(docs[always["job_id"]]["error"])
        rec_all.notes.append(error[:90])
        assert "sandbox failed 3 times" in error and "killed" in error, error
    finally:
        record(rec_once)
        record(rec_all)
        client.close()
        p.stop_all()
    assert rec_once.ok and attempts == 1, rec_once
    assert rec_all.ok, rec_all
