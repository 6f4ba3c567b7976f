"""A seek on assignment hands each message over once.

aiokafka makes the assignment visible to its fetcher before it calls the rebalance
listener, so while ``on_assigned`` loads state (a database read) the fetcher already reads
from the committed offset; the seek then sends the consumer back and the same messages
come a second time. The consumer holds back a partition's messages until its
``on_assigned`` is done, then reads from where the hook says (or from the first message it
held back).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import TopicPartition

from kwont_common import events as ev
from kwont_common.kafka.inputs import current_input
from kwont_common.testing import sample_events
from tests.libs.common.kafka_helpers import create, publish, settings_for, wait_for
from tests.libs.common.test_consumer_order import Consuming

pytestmark = pytest.mark.integration


def signal(n: int) -> ev.Signal:
    base = sample_events()["signals"]
    assert isinstance(base, ev.Signal)
    return base.model_copy(update={"event_id": uuid.uuid4(), "event_time": n})


@pytest.mark.parametrize("start", [0, 2, None])
async def test_messages_after_a_seek_on_assignment_are_handled_once(
    kafka_bootstrap: str, start: int | None
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals")
    await publish(settings, *(signal(n) for n in range(5)))
    offsets: list[int] = []
    handled: list[int] = []

    async def on_signal(s: ev.Signal) -> None:
        offsets.append(current_input().offset)

    async def on_assigned(partitions: set[TopicPartition]) -> dict[TopicPartition, int] | None:
        await asyncio.sleep(1.0)  # a snapshot read: the fetcher goes on meanwhile
        return None if start is None else {tp: start for tp in partitions}

    async with Consuming(
        settings, {"signals": on_signal}, on_assigned=on_assigned,
        on_handled=lambda _t, _p, o: handled.append(o),
    ):  # fmt: skip
        first = 0 if start is None else start
        await wait_for(lambda: len(handled) >= 5 - first, timeout=30)
        await asyncio.sleep(1.0)  # a second delivery would come now
    assert offsets == list(range(first, 5))
    assert handled == list(range(first, 5))
