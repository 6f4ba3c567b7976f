"""Kafka I/O against a real broker (tansu): publish, consume, dead-letter, retry."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from kwont_common import events as ev
from kwont_common.errors import TransientError
from kwont_common.kafka import EventConsumer, EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.testing import candle
from kwont_common.topics import TOPICS
from tests.libs.common.kafka_helpers import create, publish, read_all, settings_for, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


async def run_consumer(
    settings: Any, handlers: dict[str, Any], until: Any, timeout: float = 30
) -> None:
    producer = EventProducer(settings)
    await producer.start()
    stop = asyncio.Event()
    consumer = EventConsumer(settings, producer, handlers)
    task = asyncio.create_task(consumer.run(stop))
    try:
        await wait_for(until, timeout)
    finally:
        stop.set()
        await task
        await producer.stop()


async def test_candle_is_read_by_librdkafka_and_matches_the_exported_schema(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "candles")
    sent = candle(symbol="ETHUSDT", price=2500.0)
    await publish(settings, sent)

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "analytics"})
    # assign, not subscribe: librdkafka's group join against tansu takes ~20 s (measured);
    # the wire format under test is the same either way.
    consumer.assign([TopicPartition(f"{settings.topic_prefix}candles", 0, OFFSET_BEGINNING)])
    try:
        message = None
        for _ in range(100):
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                break
        assert message is not None and message.error() is None, "librdkafka read nothing"
    finally:
        consumer.close()
    doc = json.loads(message.value())
    schema = json.loads((ROOT / "schemas/topics/candles.json").read_text())
    jsonschema.validate(doc, schema)
    assert message.key() == b"ETHUSDT:1m"
    assert doc["event_id"] == str(sent.event_id) and doc["close"] == sent.close


async def test_garbage_goes_to_the_dead_letter_topic_and_consuming_goes_on(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "candles")
    producer = EventProducer(settings)
    await producer.start()
    topic = f"{settings.topic_prefix}candles"
    garbage = b"\x00\xffnot json at all"
    invalid = json.dumps({**json.loads(candle().model_dump_json()), "high": 1.0}).encode()
    await producer.send_raw(topic, b"BTCUSDT:1m", garbage)
    await producer.send_raw(topic, b"BTCUSDT:1m", invalid)
    good = candle(price=123.0)
    await producer.publish(good)
    await producer.stop()

    handled: list[ev.Candle] = []

    async def on_candle(c: ev.Candle) -> None:
        handled.append(c)

    await run_consumer(settings, {"candles": on_candle}, lambda: len(handled) == 1)
    assert [c.event_id for c in handled] == [good.event_id]

    letters = [
        ev.DeadLetter.model_validate_json(v)
        for v in await read_all(kafka_bootstrap, f"{topic}.dlq", 2)
    ]
    assert [d.error_type for d in letters] == ["decode", "validation"]
    assert base64.b64decode(letters[0].payload_b64) == garbage
    assert base64.b64decode(letters[1].payload_b64) == invalid
    assert "not a JSON object" in letters[0].error
    assert "high is below" in letters[1].error
    assert [d.offset for d in letters] == [0, 1] and letters[0].original_key == "BTCUSDT:1m"


async def test_transient_errors_are_retried_and_handler_outputs_are_published(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "candles", "backtest-progress")
    await publish(settings, candle())

    attempts = 0

    async def on_candle(c: ev.Candle) -> ev.BacktestProgress:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise TransientError("database blinked")
        return ev.BacktestProgress(
            event_time=c.event_time, source="test", job_id="j", stage="running", fraction=1.0
        )

    await run_consumer(settings, {"candles": on_candle}, lambda: attempts >= 3)
    out = await read_all(kafka_bootstrap, f"{settings.topic_prefix}backtest-progress", 1)
    assert ev.BacktestProgress.model_validate_json(out[0]).job_id == "j"
    assert attempts == 3


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_max_attempts(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap, handler_max_attempts=2)
    await create(settings, "candles")
    poison, fine = candle(price=1.0), candle(price=2.0)
    await publish(settings, poison, fine)

    calls: list[float] = []

    async def on_candle(c: ev.Candle) -> None:
        calls.append(c.open)
        if c.open == 1.0:
            raise ValueError("strategy bug")

    await run_consumer(settings, {"candles": on_candle}, lambda: 2.0 in calls)
    assert calls == [1.0, 1.0, 2.0]
    [letter] = await read_all(kafka_bootstrap, f"{settings.topic_prefix}candles.dlq", 1)
    doc = ev.DeadLetter.model_validate_json(letter)
    assert doc.error_type == "handler" and "ValueError: strategy bug" in doc.error
    # the first line (all the log line shows) is the cause, the traceback follows
    assert doc.error.splitlines()[0] == "after 2 attempts: ValueError: strategy bug"
    assert doc.error.splitlines()[1] == "Traceback (most recent call last):"


async def test_topics_are_created_with_configured_partitions_idempotently(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap, topic_partitions=3)
    created = await ensure_topics(settings)
    assert f"{settings.topic_prefix}fills.dlq" in created and len(created) == 2 * len(TOPICS)
    assert await ensure_topics(settings) == []
    meta = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10)
    assert len(meta.topics[f"{settings.topic_prefix}orders"].partitions) == 3
