"""Documents written behind the hot path, once for every service (risk's views,
execution's outcomes, portfolio's documents, the partition snapshots).

A decision queues its writes here (no I/O); a background task writes what is queued in
batches, one unordered bulk write per collection. Every write is an upsert by a
deterministic ``_id``, so writing twice, or a replay writing again, changes nothing:

- ``insert(collection, _id, doc)``: ``$setOnInsert``, the first queued wins (a decision);
- ``put(collection, _id, fields)``: ``$set``, the latest queued wins (a view of state);
- ``add(collection, ops)``: ready-made upserts, written in the order queued.

A batch that fails stays queued (under anything newer queued meanwhile) and is retried
with capped backoff (:func:`flush_loop`). The last write of a batch is journaled
(``j: true``): SecantusDB, like mongod with ``j: false``, can lose the last unjournaled
writes to a SIGKILL, and a journaled write makes every write before it durable too. Only
then are the inputs of the batch marked in the :class:`~kwont_common.state.PartitionStore`
(``handled``, the consumer's ``on_handled``): a snapshot never names an input whose
documents are not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import UpdateOne, WriteConcern

from kwont_common.mongo import Database
from kwont_common.retry import backoff

log = logging.getLogger(__name__)

Write = Callable[[Any, list[Any]], Awaitable[None]]
"""``write(collection, ops)``: one bulk write (raises when it failed)."""
JOURNALED = WriteConcern(j=True)


async def bulk_upsert(collection: Any, ops: list[Any]) -> None:
    """The default ``write``: one unordered bulk write."""
    await collection.bulk_write(ops, ordered=False)


async def flush_loop(
    flush: Callable[[], Awaitable[Any]], what: str, *, every_s: float,
    wake: asyncio.Event | None = None, stop: asyncio.Event | None = None,
    cap_s: float = 5.0,
) -> None:  # fmt: skip
    """Call ``flush`` every ``every_s`` (sooner when ``wake`` is set) until ``stop`` is set
    (or the task is cancelled); a flush that fails is logged and retried after a capped,
    doubling delay (a database outage only delays durability)."""
    never = asyncio.Event()
    failures = 0
    while not (stop or never).is_set():
        waiting = wake if wake is not None else (stop or never)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiting.wait(), every_s if not failures else 0)
        if wake is not None:
            wake.clear()
        try:
            await flush()
            failures = 0
        except Exception as exc:
            failures += 1
            delay = backoff(failures, cap_s)
            log.warning("%s failed (attempt %d), retrying in %.2fs: %s", what, failures,
                        delay, str(exc).splitlines()[0][:300] if str(exc) else exc)  # fmt: skip
            await asyncio.sleep(delay)


class FlushTask:
    """:func:`flush_loop` as a background task with ``start`` and ``stop`` (for owners
    that are not a service task themselves: the partition store, portfolio's writer)."""

    def __init__(
        self, flush: Callable[[], Awaitable[Any]], what: str, *, every_s: float,
        wake: asyncio.Event | None = None,
    ) -> None:  # fmt: skip
        self.flush, self.what, self.every_s, self.wake = flush, what, every_s, wake
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the background flush (once)."""
        if self._task is None:
            loop = flush_loop(self.flush, self.what, every_s=self.every_s, wake=self.wake)
            self._task = asyncio.create_task(loop, name=self.what)

    async def stop(self) -> None:
        """Stop the background flush and flush one last time (raises if that fails)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


class WriteBehind:
    """Queued upserts per collection, and the inputs to mark once they are written.

    ``every_s``: the background task writes at most that often (batches); with
    ``eager`` it also writes as soon as something is queued (an idle queue writes at once,
    whatever queued during a batch goes in the next one). ``store`` (anything with
    ``mark(topic, partition, offset)``) hears of each handled input once its documents are
    written. ``write`` replaces the bulk write (e.g. to tolerate duplicate keys).
    """

    def __init__(
        self, db: Database, *, every_s: float = 0.2, eager: bool = False,
        store: Any = None, write: Write = bulk_upsert, journal: bool = True,
    ) -> None:  # fmt: skip
        self.db, self.every_s, self.eager, self.store = db, every_s, eager, store
        self._write, self.journal = write, journal
        self._keyed: dict[str, dict[Any, dict[str, Any]]] = {}
        self._ops: dict[str, list[Any]] = {}
        self._marks: list[tuple[str, int, int]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.written_ops = self.batches = 0

    def insert(self, collection: str, _id: Any, doc: dict[str, Any]) -> None:
        """Insert ``doc`` once (``$setOnInsert``): a decision, never changed after."""
        self._keyed.setdefault(collection, {}).setdefault(_id, {"$setOnInsert": doc})
        self._kick()

    def put(self, collection: str, _id: Any, fields: dict[str, Any]) -> None:
        """Set ``fields`` (``$set``, the latest queued wins): a view of changing state."""
        self._keyed.setdefault(collection, {})[_id] = {"$set": fields}
        self._kick()

    def add(self, collection: str, ops: list[Any]) -> None:
        """Queue ready-made upserts (each by a deterministic ``_id``), in order."""
        if ops:
            self._ops.setdefault(collection, []).extend(ops)
            self._kick()

    def handled(self, topic: str, partition: int, offset: int) -> None:
        """The consumer's ``on_handled``: mark the input once what it queued is written."""
        self._marks.append((topic, partition, offset))
        self._kick()

    @property
    def pending(self) -> int:
        """Documents queued and not written yet."""
        return sum(map(len, self._keyed.values())) + sum(map(len, self._ops.values()))

    def _kick(self) -> None:
        if self.eager:
            self._wake.set()

    async def written(self) -> None:
        """Return once everything queued so far is written (raises if a write fails)."""
        while self._keyed or self._ops or self._marks or self._lock.locked():
            await self.flush()

    async def flush(self) -> int:
        """Write one batch (all queued), then mark its inputs; how many ops were written.

        Raises:
            pymongo.errors.PyMongoError: a write failed (the batch is queued again).
        """
        async with self._lock:
            keyed, ops, marks = self._keyed, self._ops, self._marks
            self._keyed, self._ops, self._marks = {}, {}, []
            batch = [(n, [UpdateOne({"_id": i}, u, upsert=True) for i, u in q.items()])
                     for n, q in keyed.items()] + list(ops.items())  # fmt: skip
            batch = [(n, b) for n, b in batch if b]
            try:
                await self._write_batch(batch)
            except BaseException:
                for name, updates in keyed.items():
                    for i, update in updates.items():
                        self._keyed.setdefault(name, {}).setdefault(i, update)
                for name, queued in ops.items():
                    self._ops.setdefault(name, [])[:0] = queued
                self._marks[:0] = marks
                raise
            done = sum(len(b) for _, b in batch)
            self.written_ops += done
            self.batches += 1 if done else 0
            if self.store is not None:
                for mark in marks:
                    self.store.mark(*mark)
            return done

    async def _write_batch(self, batch: list[tuple[str, list[Any]]]) -> None:
        if not batch:
            return
        *first, (name, last) = batch
        writes = [self._write(self.db[n], b) for n, b in first]
        if len(last) > 1 or not self.journal:
            writes.append(self._write(self.db[name], last if not self.journal else last[:-1]))
        await asyncio.gather(*writes)
        if self.journal:  # after the others: it makes them durable too
            await self._write(self.db.get_collection(name, write_concern=JOURNALED), last[-1:])

    async def run(self, stop: asyncio.Event) -> None:
        """The background writer (a service task); writes the rest when stopping."""
        await flush_loop(self.flush, "write-behind", every_s=self.every_s,
                         wake=self._wake if self.eager else None, stop=stop)  # fmt: skip
        await self.written()
