"""Fair scheduling of the jobs in hand between users.

The consumer hands the runner up to ``job_buffer`` jobs at once (``Wiring.concurrency``);
each waits here for one of ``job_slots`` run slots. Which waiting job gets a freed slot is
decided by :class:`FairQueue`, a plain data structure: the owner with the fewest jobs
running, and among those the one served longest ago (a newcomer: never), takes its oldest
job. So a user with 500 jobs waiting delays another user's single job by at most the time
of the jobs already running: the newcomer is next as soon as any slot frees.

Nothing is lost on a crash: a waiting job's offset is not committed (the consumer commits
an offset only once every job before it is through), so a killed runner's jobs in hand
come back to the replica that owns the partition next; the ones that finished meanwhile
are answered from their stored result (see :mod:`kwont_backtest_runner.jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from kwont_backtest_runner import queue_metrics
from kwont_backtest_runner.results import JOBS, utcnow
from kwont_common.errors import TransientError
from kwont_common.mongo import Database


@dataclass
class Waiting:
    """One job waiting for a slot: its owner, when it arrived, and whom to wake."""

    owner: str
    enqueued: float
    wake: asyncio.Future[None] | None = None
    job_id: str = ""


@dataclass
class FairQueue:
    """Per-owner FIFO queues and the choice of whose job runs next (no I/O, no clock).

    ``max_running``: per-owner cap on jobs running at once (None: only the slots bound it).
    """

    max_running: int | None = None
    waiting: dict[str, deque[Waiting]] = field(default_factory=dict)
    running: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    _ticks: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, item: Waiting) -> None:
        """Queue ``item`` behind its owner's other waiting jobs."""
        self.waiting.setdefault(item.owner, deque()).append(item)

    def remove(self, item: Waiting) -> None:
        """Take a waiting item out (its job was abandoned before it got a slot)."""
        queue = self.waiting.get(item.owner)
        if queue is not None and item in queue:
            queue.remove(item)
            if not queue:
                del self.waiting[item.owner]

    def pick(self) -> Waiting | None:
        """The job to start in a freed slot, counted as running; None when nobody may run
        (no job waits, or every waiting owner is at ``max_running``)."""
        eligible = [
            owner for owner in self.waiting
            if self.max_running is None or self.running.get(owner, 0) < self.max_running
        ]  # fmt: skip
        if not eligible:
            return None
        owner = min(eligible, key=lambda o: (self.running.get(o, 0), self.served.get(o, 0)))
        queue = self.waiting[owner]
        item = queue.popleft()
        if not queue:
            del self.waiting[owner]
        self.running[owner] = self.running.get(owner, 0) + 1
        self.served[owner] = next(self._ticks)
        return item

    def done(self, owner: str) -> None:
        """A job of ``owner`` left its slot. An owner with nothing left is forgotten."""
        left = self.running.get(owner, 0) - 1
        if left > 0:
            self.running[owner] = left
        else:
            self.running.pop(owner, None)
            if owner not in self.waiting:
                self.served.pop(owner, None)

    def depth(self, owner: str) -> int:
        """How many jobs of ``owner`` wait."""
        return len(self.waiting.get(owner, ()))


class Scheduler:
    """``slots`` run slots shared fairly between owners (see :class:`FairQueue`).

    ``async with scheduler.turn(owner):`` waits for the owner's turn and holds a slot for
    the block. After :meth:`close` (the service stopping) every waiter and newcomer gets
    :class:`TransientError`, so the consumer leaves its message uncommitted.
    """

    def __init__(
        self, slots: int, max_running: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots, self.free, self.clock = slots, slots, clock
        self.queue = FairQueue(max_running=max_running)
        self.closed = False

    @contextlib.asynccontextmanager
    async def turn(self, owner: str, job_id: str = "") -> AsyncIterator[float]:
        """Hold a slot for ``owner`` for the block; yields the seconds waited.

        Raises:
            TransientError: the scheduler was closed before the turn came.
        """
        if self.closed:
            raise TransientError("the runner is stopping; the job stays queued")
        item = Waiting(owner, self.clock(), asyncio.get_running_loop().create_future(), job_id)
        self.queue.add(item)
        queue_metrics.waiting(owner, self.queue.depth(owner))
        self._dispatch()
        assert item.wake is not None
        try:
            await item.wake
        except asyncio.CancelledError:
            if item.wake.done() and not item.wake.cancelled():
                self._release(owner)  # woken and cancelled at once: give the slot back
            else:
                self.queue.remove(item)
                queue_metrics.waiting(owner, self.queue.depth(owner))
            raise
        except TransientError:
            self.queue.remove(item)
            queue_metrics.waiting(owner, self.queue.depth(owner))
            raise
        waited = self.clock() - item.enqueued
        queue_metrics.started(owner, self.queue.depth(owner), waited)
        queue_metrics.running(self.slots - self.free)
        try:
            yield waited
        finally:
            self._release(owner)

    def waiting_ids(self) -> list[str]:
        """The job ids of every job waiting for a slot."""
        return [i.job_id for q in self.queue.waiting.values() for i in q if i.job_id]

    async def hold(self, db: Database, every_s: float, runner_id: str, stop: asyncio.Event
                   ) -> None:  # fmt: skip
        """Until ``stop``: every ``every_s`` mark the waiting jobs ``held_at`` now, so the
        reaper does not take a job waiting its turn for one no runner took."""
        while not stop.is_set():
            ids = self.waiting_ids()
            if ids:
                with contextlib.suppress(Exception):  # the next beat tries again
                    await db[JOBS].update_many(
                        {"_id": {"$in": ids}, "status": "queued"},
                        {"$set": {"held_at": utcnow(), "held_by": runner_id}},
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)

    def close(self) -> None:
        """Stop granting slots: every waiting job fails transiently (stays uncommitted)."""
        self.closed = True
        for queue in list(self.queue.waiting.values()):
            for item in list(queue):
                if item.wake is not None and not item.wake.done():
                    item.wake.set_exception(TransientError("the runner is stopping"))

    async def close_on(self, stop: asyncio.Event) -> None:
        """A service task: :meth:`close` once ``stop`` is set."""
        await stop.wait()
        self.close()

    def _release(self, owner: str) -> None:
        self.queue.done(owner)
        self.free += 1
        self._dispatch()
        queue_metrics.running(self.slots - self.free)

    def _dispatch(self) -> None:
        while self.free > 0 and not self.closed:
            item = self.queue.pick()
            if item is None:
                return
            self.free -= 1
            assert item.wake is not None
            item.wake.set_result(None)
