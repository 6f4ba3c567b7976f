"""The typed consumer loop every service runs.

For each message: decode into the topic's model, call the handler, publish what it returns,
and only then count the offset as done; offsets are committed after each fetched batch and at
shutdown. Failures:

- undecodable or invalid bytes, or a handler raising ``InvalidMessage``: the original bytes
  and the error go to ``<topic>.dlq`` and the loop moves on;
- transient errors (``TransientError``, broker/database connection errors): retried with
  capped backoff until they pass or shutdown is asked (then the message is not committed and
  will be redelivered);
- any other handler error: retried ``handler_max_attempts`` times, then dead-lettered.

Shutdown (``stop`` set, e.g. by SIGTERM): stop fetching, finish the message in hand, commit,
close. A SIGKILL re-delivers at most the messages since the last commit.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from kwont_common.errors import InvalidMessage, is_transient
from kwont_common.events import DeadLetter, Event
from kwont_common.kafka.codec import decode
from kwont_common.kafka.producer import EventProducer
from kwont_common.metrics import CONSUMER_LAG, HANDLER_SECONDS, MESSAGES_CONSUMED, MESSAGES_FAILED
from kwont_common.retry import backoff, retry_until
from kwont_common.settings import Settings
from kwont_common.topics import Topic, topic

log = logging.getLogger(__name__)

HandlerResult = Event | Sequence[Event] | None
Handler = Callable[[Any], Awaitable[HandlerResult]]
"""``async def on_candle(candle: Candle) -> Signal | None``: what it returns is published
before the message's offset is committed."""


class _Abort(Exception):
    """Shutdown asked while a message was still failing transiently: leave it uncommitted."""


class EventConsumer:
    """Consumes base topic names (prefix applied) in the service's consumer group."""

    def __init__(
        self,
        settings: Settings,
        producer: EventProducer,
        handlers: Mapping[str, Handler],
        *,
        group_id: str | None = None,
        max_records: int = 100,
    ) -> None:
        if not handlers:
            raise ValueError("EventConsumer needs at least one handler")
        self.settings = settings
        self.producer = producer
        self.group_id = group_id or settings.group_id
        self.max_records = max_records
        prefix = settings.topic_prefix
        self._routes: dict[str, tuple[Topic, Handler]] = {
            topic(name).full_name(prefix): (topic(name), handler)
            for name, handler in handlers.items()
        }
        self._consumer: AIOKafkaConsumer | None = None
        self.running = False
        self.handled = 0
        self._positions: dict[TopicPartition, int] = {}

    async def _start_once(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            *self._routes,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=self.settings.kafka_client_id or f"kwont-{self.settings.service_name}",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
        )
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        return consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; then commit what was handled and close.

        Raises:
            TransientError: the broker was not reachable within ``startup_timeout_s``.
        """
        consumer = await retry_until(
            self._start_once, "kafka consumer", self.settings.startup_timeout_s
        )
        self._consumer = consumer
        self.running = True
        done: dict[TopicPartition, int] = {}
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
                try:
                    for tp, records in batch.items():
                        for record in records:
                            if stop.is_set():
                                raise _Abort
                            await self._handle(record, stop)
                            done[tp] = self._positions[tp] = record.offset + 1
                except _Abort:
                    break
                finally:
                    await self._commit(consumer, done)
                self._update_lag(consumer)
        finally:
            self.running = False
            await self._commit(consumer, done)
            await consumer.stop()
            log.info("consumer stopped after %d messages", self.handled)

    async def _commit(self, consumer: AIOKafkaConsumer, done: dict[TopicPartition, int]) -> None:
        if not done:
            return
        try:
            await consumer.commit(dict(done))
        except Exception as exc:  # rebalance or broker loss: the batch will be redelivered
            log.warning("offset commit failed, messages will be redelivered: %s", exc)
        done.clear()

    def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            position = self._positions.get(tp)
            if high is None or position is None:
                continue
            CONSUMER_LAG.labels(self.settings.service_name, tp.topic, str(tp.partition)).set(
                max(0, high - position)
            )

    async def _handle(self, record: ConsumerRecord[bytes, bytes], stop: asyncio.Event) -> None:
        service = self.settings.service_name
        meta, handler = self._routes[record.topic]
        try:
            event = decode(meta, record.value)
        except InvalidMessage as exc:
            await self._dead_letter(record, getattr(exc, "kind", "validation"), str(exc))
            return
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await handler(event)
                for out in _as_list(result):
                    await self.producer.publish(out)
                break
            except InvalidMessage as exc:
                await self._dead_letter(record, "handler", str(exc))
                return
            except Exception as exc:
                transient = is_transient(exc)
                MESSAGES_FAILED.labels(service, record.topic, "retry").inc()
                if not transient and attempt >= self.settings.handler_max_attempts:
                    text = "".join(traceback.format_exception(exc))[-4000:]
                    await self._dead_letter(record, "handler", f"after {attempt} attempts: {text}")
                    return
                delay = backoff(attempt, self.settings.retry_backoff_max_s)
                log.warning(
                    "handler failed (%s, attempt %d), retrying in %.2fs: %s",
                    "transient" if transient else "error",
                    attempt,
                    delay,
                    exc,
                    extra=_context(record, event),
                )
                if stop.is_set():
                    raise _Abort from exc
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                if stop.is_set() and transient:
                    raise _Abort from exc
        HANDLER_SECONDS.labels(service, record.topic).observe(time.perf_counter() - started)
        MESSAGES_CONSUMED.labels(service, record.topic).inc()
        self.handled += 1

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], kind: str, error: str
    ) -> None:
        """Publish the original bytes and the error to ``<topic>.dlq`` (waits for acks)."""
        letter = DeadLetter(
            event_time=record.timestamp if record.timestamp >= 0 else 0,
            source=self.settings.service_name,
            original_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            original_key=record.key.decode("utf-8", "replace") if record.key else None,
            payload_b64=base64.b64encode(record.value or b"").decode(),
            error_type=kind,
            error=error,
            consumer_group=self.group_id,
        )
        await self.producer.publish(letter, topic=f"{record.topic}.dlq")
        MESSAGES_FAILED.labels(self.settings.service_name, record.topic, kind).inc()
        log.error(
            "dead-lettered %s message: %s",
            kind,
            error.splitlines()[0] if error else "",
            extra={"topic": record.topic, "partition": record.partition, "offset": record.offset},
        )


def _as_list(result: HandlerResult) -> Sequence[Event]:
    if result is None:
        return ()
    if isinstance(result, Event):
        return (result,)
    return result


def _context(record: ConsumerRecord[bytes, bytes], event: Event) -> dict[str, object]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "event_id": event.event_id,
        "correlation_id": getattr(event, "correlation_id", None),
    }
