"""Market data for the marks, read by every replica outside the fills group.

Every replica needs the marks of every symbol its accounts hold, whichever partitions it
owns, so the candles (and ticks) consumer runs in a group of its own per process
(``<marks group>-<random>``): each replica reads all of them. It keeps no offsets worth
keeping: on assignment it starts ``marks_lookback_s`` of broker time back, so a restarted
replica relearns the latest mark of each symbol (marks merge newest-wins, so reading a
candle twice changes nothing).
"""

from __future__ import annotations

import logging
import time
import uuid

from aiokafka import TopicPartition

from kwont_common.kafka.raw_consumer import open_consumer
from kwont_common.settings import Settings

log = logging.getLogger(__name__)


def replica_group(base: str) -> str:
    """A consumer group of this process alone."""
    return f"{base}-{uuid.uuid4().hex[:12]}"


async def lookback_offsets(
    settings: Settings, partitions: set[TopicPartition], lookback_s: float
) -> dict[TopicPartition, int]:
    """Where each partition's records of the last ``lookback_s`` seconds start (its end
    when none is that recent), for the partitions where that is past the log's start (a
    new group reads the others from their start anyway; a seek to where the consumer
    already is can hand over the first batch twice)."""
    if not partitions:
        return {}
    consumer = await open_consumer(settings, "marks lookback", group_id=None)
    try:
        since = int((time.time() - lookback_s) * 1000)
        found = await consumer.offsets_for_times({tp: since for tp in partitions})
        ends = await consumer.end_offsets(list(partitions))
        firsts = await consumer.beginning_offsets(list(partitions))
        starts = {tp: ends[tp] if at is None else at.offset for tp, at in found.items()}
        starts = {tp: n for tp, n in starts.items() if n > firsts[tp]}
    finally:
        await consumer.stop()
    log.info("marks start %.0fs back: %s", lookback_s, starts)
    return starts
