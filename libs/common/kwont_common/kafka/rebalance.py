"""Rebalances of :class:`~kwont_common.kafka.consumer.EventConsumer`: its rebalance
listener and hooks.

The hooks ``on_assigned(partitions)`` (after an assignment, before its messages are fetched)
and ``on_revoked(partitions)`` (after what was in hand for them is finished and committed,
and at shutdown after the last commit) let a service load and drop state per owned
partition. ``on_assigned`` may return ``{partition: next_offset}``: those partitions are read
from there instead of from the committed offset (state loaded up to a snapshot replays what
follows it). A hook that raises stops the consumer.

aiokafka shows a new assignment to its fetcher before it calls the listener, so records of
a partition can arrive while ``on_assigned`` still runs (from the committed offset); a seek
afterwards would hand them over a second time. Until a partition's hook is done its records
are held back (:meth:`Rebalancing.hold`), and the partition is then read from where the hook
says or from the first record held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from kwont_common.kafka.lanes import Job
from kwont_common.kafka.offsets import Commits

log = logging.getLogger(__name__)

PartitionsHook = Callable[[set[TopicPartition]], Awaitable[None]]
"""``on_revoked``: called with the (full topic names') partitions."""
AssignedHook = Callable[[set[TopicPartition]], Awaitable[Mapping[TopicPartition, int] | None]]
"""``on_assigned``: called with the partitions now held; what it returns (``None``: nothing)
maps some of them to the offset to read next instead of the committed one."""


class Rebalancing:
    """The rebalance half of :class:`~kwont_common.kafka.consumer.EventConsumer` (a base
    class of it, on the consumer's state declared here)."""

    on_assigned: AssignedHook | None
    on_revoked: PartitionsHook | None
    revoke_wait_s: float
    _consumer: AIOKafkaConsumer | None
    _commits: Commits
    _jobs: set[Job]
    _error: BaseException | None
    _ready: set[TopicPartition]
    """Partitions whose ``assigned`` is done: their records may be handled."""
    _held: dict[TopicPartition, int]
    """Partitions not ready yet: the first offset of theirs held back."""

    def hold(self, tp: TopicPartition, offset: int) -> bool:
        """Whether a fetched record must be held back (dropped now, read again once the
        partition is ready): its partition's ``on_assigned`` is not done."""
        if tp in self._ready:
            return False
        self._held.setdefault(tp, offset)
        return True

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Before partitions go to another member: finish what is in hand for them (bounded
        by ``revoke_wait_s``), commit it, and forget them (their queued messages abort);
        then ``on_revoked``."""
        self._ready -= partitions
        for tp in partitions:
            self._held.pop(tp, None)
        await self._settle(partitions & set(self._commits.offsets))
        await self._call_hook(self.on_revoked, partitions)

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        """After an assignment, before its messages are fetched: ``on_assigned``, then seek
        the partitions it returned offsets for (aiokafka allows it in the listener; the
        committed offset is looked up only for partitions without a position).

        Raises:
            ValueError: the hook returned a partition not assigned or a negative offset
                (stops the loop, as a failing hook does).
        """
        starts = dict(await self._call_hook(self.on_assigned, partitions) or {})
        wrong = {tp: n for tp, n in starts.items() if tp not in partitions or n < 0}
        if wrong:
            self._fail(ValueError(f"on_assigned returned offsets for {wrong}: not assigned "
                                  "partitions, or negative offsets"))  # fmt: skip
        consumer = self._consumer
        assert consumer is not None  # set before subscribing
        for tp in partitions:
            held = self._held.pop(tp, None)
            if tp in starts:
                consumer.seek(tp, starts[tp])
                log.info("partition %s starts at offset %d (on_assigned)", tp, starts[tp])
            elif held is not None:  # fetched while the hook ran: read them again
                consumer.seek(tp, held)
            self._ready.add(tp)

    async def _call_hook(
        self, hook: Callable[[set[TopicPartition]], Awaitable[Any]] | None,
        partitions: set[TopicPartition],
    ) -> Any:  # fmt: skip
        """A failing hook stops the loop (the state it keeps would be wrong); what is not
        committed comes back to the next owner. What the hook returned."""
        if hook is None or not partitions:
            return None
        try:
            return await hook(set(partitions))
        except Exception as exc:
            log.exception("%s hook failed", getattr(hook, "__name__", "rebalance"))
            self._fail(exc)

    def _fail(self, exc: Exception) -> NoReturn:
        """Stop the loop with ``exc`` (raised here, and again by ``run``)."""
        if self._error is None:
            self._error = exc
        raise exc

    async def _settle(self, ours: set[TopicPartition]) -> None:
        consumer = self._consumer
        if not ours:
            return
        waiting = {j.task for j in self._jobs if j.task and j.tp in ours and j.started}
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=self.revoke_wait_s)
            if late:
                log.warning("%d messages still in hand %.0fs into a rebalance; they may be "
                            "handled twice", len(late), self.revoke_wait_s)  # fmt: skip
        if consumer is not None:
            await self._commits.commit(consumer, ours)
        self._commits.forget(ours)


class Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    """aiokafka's listener, calling the owner's ``revoked`` and ``assigned``."""

    def __init__(self, owner: Rebalancing) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Call the owner's ``revoked``; a hook's error (already logged, loop stopped) is
        swallowed, any other is raised."""
        try:
            await self.owner.revoked(set(revoked))
        except Exception as exc:
            if exc is not self.owner._error:  # a hook's is logged and stops the loop
                raise  # aiokafka logs it

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Call the owner's ``assigned``; a hook's error (already logged, loop stopped) is
        swallowed, any other is raised."""
        try:
            await self.owner.assigned(set(assigned))
        except Exception as exc:
            if exc is not self.owner._error:
                raise
