"""Scheduling by key, in per-topic lanes, for :class:`~kwont_common.kafka.consumer.EventConsumer`.

Messages are handled in key order: the handlers of two messages with the same ordering key
(by default the topic and the record key, i.e. Kafka's own order) never overlap and run in
offset order, and their events go out in that order. Each message is a :class:`Job` that
waits for the one before it of its key (:func:`through`). Each topic is its own lane
(``concurrency`` slots, ``max_pending`` messages in hand): :func:`throttle` pauses only the
partitions of a topic whose lane is full, so one topic's waiting handlers never starve
another's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from kwont_common.kafka.offsets import Offsets

Ordering = Callable[[bytes | None], bytes | None]
"""From a record's key to the key its messages are ordered by (``None``: the record key)."""


def account_of_key(key: bytes | None) -> bytes | None:
    """``account`` of an ``account:SYMBOL`` key: one account's messages in order across its
    symbols (symbols never contain ``:``)."""
    return None if key is None else key.rsplit(b":", 1)[0]


class Job:
    """One fetched message on its way through the handler. ``handled``: its handler is
    through (or it never will run); ``done``: its events are out and its offset finished."""

    __slots__ = ("done", "handled", "offsets", "record", "skip", "started", "task", "tp")

    def __init__(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes], offsets: Offsets
    ) -> None:
        self.tp = tp
        self.record = record
        self.offsets = offsets
        self.started = False
        self.skip = False
        self.task: asyncio.Task[None] | None = None
        self.handled = asyncio.Event()
        self.done = False


async def through(before: Job | None) -> bool:
    """Wait until the key's previous message is through; whether it finished (its events
    out, its offset done)."""
    if before is None or before.task is None or before.done:
        return True
    await asyncio.wait({before.task})
    return before.done


def throttle(consumer: AIOKafkaConsumer, jobs: Iterable[Job], limit: int) -> bool:
    """Pause the partitions of the topics whose lane is full (``limit`` messages in hand),
    resume the others; whether any assigned partition is left to fetch."""
    in_hand: dict[str, int] = {}
    for job in jobs:
        in_hand[job.tp.topic] = in_hand.get(job.tp.topic, 0) + 1
    assigned = consumer.assignment()
    full = {tp for tp in assigned if in_hand.get(tp.topic, 0) >= limit}
    if full:
        consumer.pause(*full)
    free = set(assigned) - full
    if free & consumer.paused():
        consumer.resume(*(free & consumer.paused()))
    return bool(free) or not assigned
