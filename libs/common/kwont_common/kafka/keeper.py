"""The topic keeper: a broker that lost its topics gets them back without a manual step.

The embedded broker (tansu) keeps everything in memory, and on a cluster a topic can still
be deleted. Every service checks every ``topic_check_s`` that the registered topics exist
(:func:`~kwont_common.kafka.admin.ensure_topics`: the missing ones are created with
``topic_partitions``, so co-partitioned topics keep one count) and says so on /readyz: the
``topics`` check is false while the broker does not answer and after a look that had to
recreate topics, and true again at the first look that finds them all. Consumers then rejoin
the new topics from their start (the group offsets are lost with them) and each service
resumes from what it stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from kwont_common.kafka.admin import ensure_topics
from kwont_common.settings import Settings

log = logging.getLogger(__name__)


async def rewind_truncated(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    """Seek to the start of each assigned partition whose end is now before the consumer's
    position (the topic was recreated or truncated: its records are all new); those seeked.

    A broker answering a fetch past the end with no error (tansu) would otherwise leave the
    consumer waiting until the new log grew past its old position."""
    assigned = list(consumer.assignment())
    if not assigned:
        return []
    ends = await consumer.end_offsets(assigned)
    behind = []
    for tp in assigned:
        position = await consumer.position(tp)
        if position > ends.get(tp, position):
            behind.append(tp)
    if behind:
        consumer.seek_to_beginning(*behind)
        log.warning("partitions shorter than our position, read again from their start: %s",
                    ", ".join(f"{tp.topic}[{tp.partition}]" for tp in behind))  # fmt: skip
    return behind


async def keep_topics(
    settings: Settings, stop: asyncio.Event, on_state: Callable[[bool], None],
    consumer: Callable[[], AIOKafkaConsumer | None] = lambda: None,
) -> None:  # fmt: skip
    """Until ``stop``: recreate missing topics, rewind ``consumer()`` past a truncated
    partition; ``on_state(ok)`` after each look."""
    interval = settings.topic_check_s
    quick = settings.model_copy(update={"startup_timeout_s": interval})
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
            return
        try:
            created = await asyncio.wait_for(ensure_topics(quick), 2 * interval)
        except Exception as exc:  # the broker is away: degraded until it answers
            log.warning("topic check failed: %s: %s", type(exc).__name__, exc)
            on_state(False)
            continue
        raw = consumer()
        if raw is not None:
            try:  # a rebalance under way can change the assignment meanwhile: next look
                await asyncio.wait_for(rewind_truncated(raw), 2 * interval)
            except Exception as exc:
                log.info("partition check skipped: %s: %s", type(exc).__name__, exc)
        if created:  # degraded until a look finds every topic there
            log.warning("broker had lost %d topics; recreated them: %s", len(created),
                        ", ".join(created[:5]))  # fmt: skip
        on_state(not created)
