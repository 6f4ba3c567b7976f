"""In-memory state per owned partition, written behind the hot path.

A service whose account topics are co-partitioned owns partition number ``p`` of all of
them (docs/architecture.md, "One owner per account"); :class:`PartitionStore` keeps the
state of the accounts on ``p`` (an object the service defines) in memory together with the
input offsets it reflects. The handler reads and changes it with ``apply`` (no I/O) and
calls ``mark`` once the input's outputs are acknowledged. A background flush (every
``flush_every_s``, or sooner after ``flush_after`` marks; and on revoke and stop) writes
every changed partition as one document, ``{_id: "<group>:<p>", state, offsets,
written_at}``, all in one bulk write. A decision never waits on it.

The rule that makes a crash safe: a snapshot reflects only inputs whose outputs were
acknowledged, and its offsets say exactly which. A partition is written only while it is
settled (every applied input marked, no gap below a marked one); one that is not waits for
the next flush. After a crash the next owner loads the snapshot, seeks its inputs to the
stored offsets and re-applies what came after; the outputs it republishes carry the same
deterministic ids and are dropped by id downstream.

On assignment ``assign`` loads the snapshots of the new partition numbers (one read) and
returns where each input should resume; a number without a snapshot starts from an empty
state at offset 0, so its inputs are replayed from the start of the log. On revocation
``revoke`` writes those partitions (if settled) and drops them from memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from aiokafka import TopicPartition
from pymongo import ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection

from kwont_common.state.offsets import InputOffsets
from kwont_common.state.writebehind import JOURNALED, FlushTask

log = logging.getLogger(__name__)

S = TypeVar("S")
R = TypeVar("R")
Collection = AsyncCollection[dict[str, Any]]


class NotOwned(KeyError):
    """The partition number is not assigned to this member (or was revoked)."""


@dataclass
class _Partition(Generic[S]):
    state: S
    inputs: dict[str, InputOffsets] = field(default_factory=dict)
    dirty: bool = False

    def offsets(self, topic: str) -> InputOffsets:
        if topic not in self.inputs:
            self.inputs[topic] = InputOffsets(0)
        return self.inputs[topic]

    @property
    def settled(self) -> bool:
        return all(i.settled for i in self.inputs.values())


class PartitionStore(Generic[S]):
    """State of the owned partitions of ``group``'s account topics, snapshotted to
    ``collection``.

    ``new()`` makes the empty state of a partition, ``dump(state)`` its document (plain
    BSON types, a fresh copy sharing nothing mutable with the state: it is called on the
    event loop at flush time, so it sees the state consistent with the offsets, and the
    state may change while the write is in flight), ``load(document)`` the state back.
    """

    def __init__(
        self,
        collection: Collection,
        group: str,
        *,
        new: Callable[[], S],
        dump: Callable[[S], dict[str, Any]],
        load: Callable[[dict[str, Any]], S],
        flush_every_s: float = 0.2,
        flush_after: int = 1000,
    ) -> None:
        if flush_every_s <= 0 or flush_after < 1:
            raise ValueError("flush_every_s must be > 0 and flush_after >= 1")
        self.collection = collection
        self.group = group
        self._new, self._dump, self._load = new, dump, load
        self.flush_every_s = flush_every_s
        self.flush_after = flush_after
        self._owned: dict[int, _Partition[S]] = {}
        self._marks = 0
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._flusher = FlushTask(self.flush, f"state flush of {group}",
                                  every_s=flush_every_s, wake=self._wake)  # fmt: skip
        # snapshot documents written; times a changed partition was unsettled at a flush
        self.writes = self.deferred = 0

    def _id(self, partition: int) -> str:
        return f"{self.group}:{partition}"

    # -- hot path (no I/O) --------------------------------------------------------------

    @property
    def owned(self) -> set[int]:
        """The partition numbers held here now (a copy)."""
        return set(self._owned)

    def state(self, partition: int) -> S:
        """The state of partition number ``partition``, to read.

        Raises:
            NotOwned: the partition is not assigned here.
        """
        return self._partition(partition).state

    def reflects(self, topic: str, partition: int, offset: int) -> bool:
        """Whether the state already reflects this input (a redelivery to skip)."""
        return offset < self._partition(partition).offsets(topic).next

    def apply(self, topic: str, partition: int, offset: int, change: Callable[[S], R]) -> R:
        """Change the state for one input: ``change(state)``, synchronously; its result is
        returned. Call ``mark`` for the same input once its outputs are acknowledged.

        Raises:
            NotOwned: the partition is not assigned here.
        """
        part = self._partition(partition)
        part.offsets(topic).applied(offset)
        part.dirty = True
        return change(part.state)

    def changed(self, partition: int) -> None:
        """Write ``partition`` at the next flush: changed outside ``apply`` (e.g. by a market
        data reader, once its outputs were acknowledged). Ignored if not owned."""
        if partition in self._owned:
            self._owned[partition].dirty = True

    def touch(self, partition: int, change: Callable[[S], R]) -> R:
        """``change(state)`` outside any input (an admin's command read from elsewhere),
        written at the next flush; not replayed, so the caller keeps the command until the
        state reflects it.

        Raises:
            NotOwned: the partition is not assigned here.
        """
        part = self._partition(partition)
        part.dirty = True
        return change(part.state)

    def mark(self, topic: str, partition: int, offset: int) -> None:
        """The input's outputs are acknowledged (call it for every input handled, applied
        or not, or the stored offsets stop advancing). Ignored for a partition no longer
        owned (its next owner replays the input)."""
        part = self._owned.get(partition)
        if part is None:
            return
        part.offsets(topic).marked(offset)
        part.dirty = True
        self._marks += 1
        if self._marks >= self.flush_after:
            self._wake.set()

    def _partition(self, partition: int) -> _Partition[S]:
        try:
            return self._owned[partition]
        except KeyError:
            raise NotOwned(partition) from None

    # -- rebalance ----------------------------------------------------------------------

    async def assign(
        self,
        partitions: Iterable[TopicPartition],
        log_start: Mapping[TopicPartition, int] | None = None,
    ) -> dict[TopicPartition, int]:
        """Load the snapshots of the partition numbers not held yet (one read) and return
        the next offset of every given topic partition, for the consumer to seek to.
        Numbers already held keep their state in memory. ``log_start`` (the consumer's
        ``beginning_offsets``) moves a start below the log's first offset up to it: the
        offsets count up from the start, so one the log no longer holds would never be
        marked and the snapshots would stop.

        Raises:
            pymongo.errors.PyMongoError: the snapshots could not be read (the consumer stops
                and the service restarts).
        """
        tps = set(partitions)
        wanted = {tp.partition for tp in tps} - set(self._owned)
        found: dict[int, dict[str, Any]] = {}
        if wanted:
            ids = [self._id(p) for p in sorted(wanted)]
            async for doc in self.collection.find({"_id": {"$in": ids}}):
                found[int(str(doc["_id"]).rsplit(":", 1)[1])] = doc
        for p in wanted:
            if p not in found:
                self._owned[p] = _Partition(self._new())
                continue
            doc = found[p]
            stored = {o["topic"]: InputOffsets(int(o["next"])) for o in doc["offsets"]}
            self._owned[p] = _Partition(self._load(doc["state"]), stored)
        starts = log_start or {}
        for tp in tps & set(starts):
            offsets = self._owned[tp.partition].offsets(tp.topic)
            if offsets.settled and offsets.next < starts[tp]:
                if tp.partition in found:
                    log.warning("%s: inputs %s..%s left the log", tp, offsets.next, starts[tp])
                offsets.next = starts[tp]
        return {tp: self._owned[tp.partition].offsets(tp.topic).next for tp in tps}

    async def revoke(self, partitions: Iterable[TopicPartition]) -> None:
        """Write the given partition numbers (those settled) and drop them from memory.
        One that is not settled is dropped unwritten: its previous snapshot plus a replay
        is still consistent.

        Raises:
            pymongo.errors.PyMongoError: the write failed (the next owner replays more).
        """
        numbers = {tp.partition for tp in partitions} & set(self._owned)
        try:
            await self.flush(numbers)
        finally:
            for p in numbers:
                if not self._owned[p].settled:
                    log.warning("partition %s revoked unsettled; its next owner replays", p)
                del self._owned[p]

    def snapshot(self, partition: int) -> dict[str, Any]:
        """The document of one partition as a flush would write it now."""
        part = self._partition(partition)
        return {
            "_id": self._id(partition),
            "state": self._dump(part.state),
            "offsets": [{"topic": t, "next": i.next} for t, i in sorted(part.inputs.items())],
            "written_at": datetime.now(UTC),
        }

    async def flush(self, only: set[int] | None = None) -> int:
        """Write every changed, settled partition (of ``only``, if given) in one bulk
        write; return how many were written. The documents are made before the first
        await, so each is one consistent moment of its partition.

        Raises:
            pymongo.errors.PyMongoError: the write failed (the partitions stay changed).
        """
        async with self._lock:
            numbers = set(self._owned) if only is None else only & set(self._owned)
            docs: list[dict[str, Any]] = []
            for p in sorted(numbers):
                part = self._owned[p]
                if not part.dirty:
                    continue
                if not part.settled:
                    self.deferred += 1
                    continue
                docs.append(self.snapshot(p))
                part.dirty = False
            self._marks = 0
            if not docs:
                return 0
            try:
                await self.collection.with_options(write_concern=JOURNALED).bulk_write(
                    [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False
                )
            except BaseException:
                for d in docs:
                    p = int(str(d["_id"]).rsplit(":", 1)[1])
                    if p in self._owned:
                        self._owned[p].dirty = True
                raise
            self.writes += len(docs)
            return len(docs)

    async def start(self) -> None:
        """Start the background flush (a failed flush only delays durability: retried)."""
        await self._flusher.start()

    async def stop(self) -> None:
        """Stop the background flush and write what is changed one last time."""
        await self._flusher.stop()
