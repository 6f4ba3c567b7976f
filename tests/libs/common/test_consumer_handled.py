"""What :class:`EventConsumer` tells a service about each input, for state kept per owned
partition: the handler learns its input (topic, partition, offset) from ``current_input``,
and ``on_handled`` hears of every message once it is through, whether its handler ran or
it was dead-lettered."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from kwont_common import events as ev
from kwont_common.kafka import EventConsumer, Input, current_input
from kwont_common.testing import sample_events
from tests.libs.common.kafka_helpers import create, publish, settings_for, wait_for
from tests.libs.common.test_consumer_order import Consuming

pytestmark = pytest.mark.integration


def signal(n: int) -> ev.Signal:
    base = sample_events()["signals"]
    assert isinstance(base, ev.Signal)
    return base.model_copy(update={"event_id": uuid.uuid4(), "event_time": n})


def test_current_input_outside_a_handler_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        current_input()


async def test_every_message_is_reported_handled_with_the_input_its_handler_saw(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals")
    full = f"{settings.topic_prefix}signals"
    await publish(settings, signal(1))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:  # offset 1: not a signal, so it is dead-lettered and its handler never runs
        await producer.send_and_wait(full, b"{not json", key=b"a:BTCUSDT")
    finally:
        await producer.stop()
    await publish(settings, signal(2), signal(3))
    seen: list[tuple[int, Input]] = []
    handled: list[tuple[str, int, int]] = []

    async def on_signal(s: ev.Signal) -> None:
        seen.append((s.event_time, current_input()))

    def on_handled(topic: str, partition: int, offset: int) -> None:
        handled.append((topic, partition, offset))

    async with Consuming(settings, {"signals": on_signal}, on_handled=on_handled) as consumer:
        assert isinstance(consumer, EventConsumer)
        await wait_for(lambda: len(handled) == 4)
    assert seen == [(1, Input(full, 0, 0)), (2, Input(full, 0, 2)), (3, Input(full, 0, 3))]
    assert sorted(handled) == [(full, 0, n) for n in range(4)]
