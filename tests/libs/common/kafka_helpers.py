"""Helpers shared by the Kafka integration tests (not tests themselves)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer

from kwont_common.events import Event
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.settings import Settings


def settings_for(bootstrap: str, **kw: object) -> Settings:
    """Test settings on a fresh topic prefix, so tests never see each other's messages."""
    fields: dict[str, object] = {
        "service_name": "test",
        "kafka_bootstrap_servers": bootstrap,
        "kafka_idempotence": False,
        "topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
        "consumer_group": f"g-{uuid.uuid4().hex[:10]}",
        "retry_backoff_max_s": 0.05,
        "startup_timeout_s": 20,
    }
    fields.update(kw)
    return Settings.model_validate(fields)


async def create(settings: Settings, *base_names: str, partitions: int = 1) -> None:
    names = [f"{settings.topic_prefix}{n}" for n in base_names]
    names += [f"{n}.dlq" for n in names]
    await ensure_topics(settings.model_copy(update={"topic_partitions": partitions}), names)


async def publish(settings: Settings, *events: Event) -> None:
    """Publish ``events`` in order with the libs/common producer, then close it."""
    producer = EventProducer(settings)
    await producer.start()
    try:
        for event in events:
            await producer.publish(event)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, count: int, timeout: float = 20) -> list[bytes]:
    """The first ``count`` values of ``topic`` (from the beginning), or fail after timeout."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            while len(values) < count:
                batch = await consumer.getmany(timeout_ms=200)
                values += [r.value for rs in batch.values() for r in rs if r.value is not None]
    finally:
        await consumer.stop()
    return values


async def wait_for(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)
