"""Fair scheduling end to end on real engines: one user's backlog on ``backtest-jobs`` does
not hold up another user's job (it runs right after the job already running)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.partitioner import murmur2

from kwont_backtest_runner.settings import BacktestRunnerSettings
from kwont_quant import Candles
from tests.services.backtest_runner.conftest import job_for
from tests.services.backtest_runner.test_runner_service import (  # noqa: F401 (fixture)
    collect,
    group_has_members,
    settings,
    start_replicas,
    submit,
)

pytestmark = pytest.mark.integration


def ids_on_one_partition(count: int, partitions: int) -> list[str]:
    """Job ids that all land on partition 0, so offset order is submission order (without
    fair scheduling the last one submitted would run last)."""
    ids: list[str] = []
    while len(ids) < count:
        job_id = f"job-{uuid.uuid4().hex[:12]}"
        if (murmur2(job_id.encode()) & 0x7FFFFFFF) % partitions == 0:
            ids.append(job_id)
    return ids


async def test_a_light_users_job_runs_right_after_the_running_one(
    settings: BacktestRunnerSettings,  # noqa: F811
    market: dict[str, Candles],
) -> None:
    settings = settings.model_copy(update={"job_slots": 1})
    symbol = sorted(market)[0]
    *heavy_ids, light_id = ids_on_one_partition(6, settings.topic_partitions)
    jobs = [
        job_for([symbol], owner="heavy", params={"fast": 5 + i, "slow": 40}, job_id=job_id)
        for i, job_id in enumerate(heavy_ids)
    ]
    jobs.append(job_for([symbol], owner="light", params={"fast": 4, "slow": 40}, job_id=light_id))
    stop, replicas = await start_replicas(settings, 1)
    try:
        await group_has_members(settings, 1)
        waiting = asyncio.create_task(collect(settings, {str(j["job_id"]) for j in jobs}))
        await submit(settings, jobs)
        results = await waiting
        assert len(results) == 6 and all(r.status == "succeeded" for r in results.values())
        order = sorted(results.values(), key=lambda r: r.event_time)
        # heavy's first job held the only slot; light's is next, before heavy's other four
        assert [r.job_id for r in order].index(light_id) <= 1, [r.job_id for r in order]
    finally:
        stop.set()
        assert await asyncio.gather(*replicas) == [0]
