"""Offsets and commits of :class:`~kwont_common.kafka.consumer.EventConsumer`.

A partition's committed offset is its lowest unfinished one, so a restart re-delivers every
message not yet handled (and possibly some handled after it: handlers are idempotent).
Offsets are committed after each fetch round, when partitions are revoked, and at shutdown.
Lag is counted from the first fetched offset of a partition until a commit, then from the
committed one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

from kwont_common.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)


class Offsets:
    """Offsets of one assigned partition in hand, in fetch order; the commit point is the
    lowest one not finished. ``revoked`` once the partition went to another member."""

    def __init__(self) -> None:
        self.pending: dict[int, bool] = {}
        self.committable: int | None = None
        self.committed: int | None = None
        self.revoked = False

    def add(self, offset: int) -> None:
        """A fetched message's offset is in hand, not finished."""
        self.pending[offset] = False

    def finish(self, offset: int) -> None:
        """Mark ``offset`` handled and move the commit point past every finished offset at the
        front; an offset not in hand is ignored."""
        if offset not in self.pending:
            return
        self.pending[offset] = True
        while self.pending:
            first = next(iter(self.pending))
            if not self.pending[first]:
                break
            del self.pending[first]
            self.committable = first + 1


class Commits:
    """The :class:`Offsets` of every partition in hand, and the positions lag counts from."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.offsets: dict[TopicPartition, Offsets] = {}
        self.positions: dict[TopicPartition, int] = {}

    def track(self, tp: TopicPartition, offset: int) -> Offsets:
        """A fetched message's offset is in hand; its partition's :class:`Offsets`."""
        offsets = self.offsets.setdefault(tp, Offsets())
        offsets.add(offset)
        self.positions.setdefault(tp, offset)  # lag counts from here until a commit
        return offsets

    async def commit(self, consumer: AIOKafkaConsumer,
                     partitions: set[TopicPartition] | None = None) -> None:  # fmt: skip
        """Commit the commit points that moved (of ``partitions``, or all); a failed commit
        is logged, not raised (the messages will be redelivered)."""
        due = {
            tp: o.committable
            for tp, o in self.offsets.items()
            if o.committable is not None and o.committable != o.committed
            and (partitions is None or tp in partitions)
        }  # fmt: skip
        if not due:
            return
        try:
            await consumer.commit(dict(due))
        except Exception as exc:  # rebalance or broker loss: the batch will be redelivered
            log.warning("offset commit failed, messages will be redelivered: %s", exc)
            return
        for tp, offset in due.items():
            if tp in self.offsets:
                self.offsets[tp].committed = offset
            self.positions[tp] = offset

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Partitions went to another member: their queued messages must not finish."""
        for tp in partitions:
            self.offsets.pop(tp).revoked = True
            self.positions.pop(tp, None)

    def update_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Set the lag gauge of each assigned partition (see :func:`record_lag`)."""
        record_lag(consumer, self.positions, self.service)


def record_lag(
    consumer: AIOKafkaConsumer, positions: Mapping[TopicPartition, int], service: str
) -> None:
    """Set ``kwont_consumer_lag`` of each assigned partition: its high watermark minus the
    position the consumer counts from (partitions without one are left as they are)."""
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        position = positions.get(tp)
        if high is None or position is None:
            continue
        CONSUMER_LAG.labels(service, tp.topic, str(tp.partition)).set(max(0, high - position))
