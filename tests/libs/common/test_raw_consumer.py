"""``open_consumer`` on a real broker (tansu): it starts a subscribed consumer (with a
rebalance listener when given one) and gives up, naming the reader, when no broker answers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import ConsumerRebalanceListener, TopicPartition

from kwont_common import events as ev
from kwont_common.errors import TransientError
from kwont_common.kafka import open_consumer
from kwont_common.testing import sample_events
from kwont_devstack.process import free_port
from tests.libs.common.kafka_helpers import create, publish, settings_for


class Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.partitions: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.partitions = set(assigned)


@pytest.mark.integration
async def test_it_opens_a_subscribed_consumer_with_its_listener(kafka_bootstrap: str) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals")
    signal = sample_events()["signals"]
    assert isinstance(signal, ev.Signal)
    await publish(settings, signal)
    listener = Assigned()
    name = f"{settings.topic_prefix}signals"
    consumer = await open_consumer(
        settings, "test reader", name, listener=listener, group_id=settings.group_id,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )  # fmt: skip
    try:
        values: list[bytes | None] = []
        async with asyncio.timeout(20):
            while not values:
                batch = await consumer.getmany(timeout_ms=200)
                values += [r.value for rs in batch.values() for r in rs]
        assert listener.partitions == {TopicPartition(name, 0)}
        assert values[0] is not None and str(signal.event_id).encode() in values[0]
    finally:
        await consumer.stop()


@pytest.mark.integration
async def test_it_gives_up_after_the_startup_timeout_naming_the_reader() -> None:
    settings = settings_for(f"127.0.0.1:{free_port()}", startup_timeout_s=1)
    started = time.monotonic()
    with pytest.raises(TransientError, match="test reader not reachable"):
        await open_consumer(settings, "test reader", "nothing", group_id=None)
    assert time.monotonic() - started < 15
