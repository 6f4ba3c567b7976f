"""Fair scheduling of the jobs in hand: the plain choice (FairQueue) and the asyncio slots."""

from __future__ import annotations

import asyncio

import pytest

from kwont_backtest_runner import queue_metrics
from kwont_backtest_runner.scheduler import FairQueue, Scheduler, Waiting
from kwont_common.errors import TransientError

pytestmark = pytest.mark.unit


def _order(queue: FairQueue, slots: int, finish_first: bool = True) -> list[str]:
    """Owners in the order their jobs start with ``slots`` slots, jobs finishing oldest
    first."""
    started: list[str] = []
    running: list[str] = []
    while True:
        while len(running) < slots and (item := queue.pick()) is not None:
            started.append(item.owner)
            running.append(item.owner)
        if not running:
            return started
        queue.done(running.pop(0 if finish_first else -1))


def test_a_newcomer_waits_only_for_the_running_jobs() -> None:
    queue = FairQueue()
    for _ in range(500):
        queue.add(Waiting("heavy", 0.0))
    first = queue.pick()  # heavy's first job runs
    assert first is not None and first.owner == "heavy"
    queue.add(Waiting("light", 1.0))
    queue.done("heavy")
    nxt = queue.pick()
    assert nxt is not None and nxt.owner == "light"


def test_round_robin_between_waiting_owners() -> None:
    queue = FairQueue()
    for owner, count in (("a", 4), ("b", 2), ("c", 1)):
        for _ in range(count):
            queue.add(Waiting(owner, 0.0))
    assert _order(queue, slots=1) == ["a", "b", "c", "a", "b", "a", "a"]


def test_with_several_slots_the_owner_with_fewest_running_goes_first() -> None:
    queue = FairQueue()
    for _ in range(10):
        queue.add(Waiting("heavy", 0.0))
    assert [queue.pick().owner for _ in range(3)] == ["heavy"] * 3  # type: ignore[union-attr]
    queue.add(Waiting("light", 0.0))
    queue.add(Waiting("light", 0.0))
    queue.done("heavy")
    # light has none running: its job goes before heavy's next
    assert queue.pick().owner == "light"  # type: ignore[union-attr]
    queue.done("heavy")
    # one running each: heavy, served longer ago, is next; then light again
    assert queue.pick().owner == "heavy"  # type: ignore[union-attr]
    queue.done("heavy")
    assert queue.pick().owner == "light"  # type: ignore[union-attr]


def test_max_running_per_owner_leaves_a_slot_idle_rather_than_exceed_it() -> None:
    queue = FairQueue(max_running=1)
    queue.add(Waiting("a", 0.0))
    queue.add(Waiting("a", 0.0))
    assert queue.pick() is not None
    assert queue.pick() is None
    queue.done("a")
    assert queue.pick() is not None


def test_a_removed_job_is_not_started() -> None:
    queue = FairQueue()
    item = Waiting("a", 0.0)
    queue.add(item)
    queue.remove(item)
    assert queue.pick() is None and queue.depth("a") == 0


async def test_scheduler_runs_light_users_between_heavy_jobs() -> None:
    scheduler = Scheduler(slots=2)
    started: list[str] = []

    async def job(owner: str) -> None:
        async with scheduler.turn(owner):
            started.append(owner)
            await asyncio.sleep(0.01)

    heavy = [asyncio.create_task(job("heavy")) for _ in range(20)]
    await asyncio.sleep(0)  # heavy's jobs are all queued first
    light = [asyncio.create_task(job(f"light{i}")) for i in range(3)]
    await asyncio.gather(*heavy, *light)
    assert len(started) == 23
    # the first two heavy jobs held the slots; every light job starts right after them
    assert {started.index(f"light{i}") for i in range(3)} <= {2, 3, 4, 5}


async def test_close_fails_waiters_transiently_and_keeps_the_running_one() -> None:
    scheduler = Scheduler(slots=1)
    release = asyncio.Event()

    async def job(owner: str) -> str:
        async with scheduler.turn(owner):
            await release.wait()
            return owner

    running = asyncio.create_task(job("a"))
    waiting = asyncio.create_task(job("b"))
    await asyncio.sleep(0)
    scheduler.close()
    with pytest.raises(TransientError):
        await waiting
    release.set()
    assert await running == "a"
    with pytest.raises(TransientError):
        await job("c")


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    scheduler = Scheduler(slots=1)
    hold = asyncio.Event()

    async def job(owner: str) -> None:
        async with scheduler.turn(owner):
            await hold.wait()

    first = asyncio.create_task(job("a"))
    second = asyncio.create_task(job("b"))
    await asyncio.sleep(0)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert scheduler.queue.depth("b") == 0
    hold.set()
    await first
    assert scheduler.free == 1


def test_metric_labels_are_bounded() -> None:
    queue_metrics.limit_users(2)
    try:
        names = {queue_metrics.label(f"usr_bound_{i}") for i in range(10)}
        assert queue_metrics.OTHER in names and len(names) <= 3
    finally:
        queue_metrics.limit_users(50)
