"""Retry and dead-lettering of :class:`~kwont_common.kafka.consumer.EventConsumer`.

- undecodable or invalid bytes, or a handler raising ``InvalidMessage``: the original bytes
  and the error go to ``<topic>.dlq`` and the loop moves on;
- transient errors (``TransientError``; an outage of the broker or the database: connection
  errors, a server restarting, a login or a grant refused, :func:`~kwont_common.errors.is_outage`):
  retried with capped backoff until they pass or shutdown is asked (then the message is not
  committed and will be redelivered), never dead-lettered; while an outage lasts the policy
  is ``degraded`` (the consumer's readiness check says so);
- any other handler error: retried ``handler_max_attempts`` times, then dead-lettered.

Publishing what a handler returned is retried the same way, without calling the handler
again (what went out is not sent twice).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord

from kwont_common.errors import InvalidMessage, is_outage, is_transient
from kwont_common.events import DeadLetter, Event
from kwont_common.kafka.producer import EventProducer
from kwont_common.metrics import MESSAGES_FAILED
from kwont_common.retry import backoff
from kwont_common.settings import Settings

log = logging.getLogger(__name__)

DeadLetterHook = Callable[[DeadLetter], Awaitable[None]]
"""Called after a message was dead-lettered, e.g. to mark the work it carried failed."""


class Abort(Exception):
    """Shutdown asked while a message was still failing transiently: leave it uncommitted."""


DEAD = object()
"""What a step returns when its message went to the dead-letter topic instead."""


class FailurePolicy:
    """Retries a message's steps and dead-letters what cannot be handled, for one consumer
    group (``group_id``) of the service ``settings`` name."""

    def __init__(
        self,
        settings: Settings,
        producer: EventProducer,
        group_id: str,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.group_id = group_id
        self.on_dead_letter = on_dead_letter
        self._outages: dict[int, bool] = {}  # per message in retry: its last error an outage

    @property
    def degraded(self) -> bool:
        """Whether a message is being retried because a dependency is down or refusing us."""
        return any(self._outages.values())

    async def retried(
        self,
        record: ConsumerRecord[bytes, bytes],
        event: Event,
        step: Callable[[], Awaitable[Any]],
        stop: asyncio.Event,
    ) -> Any:
        """``step()`` (the handler, or publishing what it returned) with the retry policy
        of the module's docstring; ``DEAD`` when the message was dead-lettered instead.

        Raises:
            Abort: shutdown asked while it was still failing.
        """
        service = self.settings.service_name
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    return await step()
                except InvalidMessage as exc:
                    await self.dead_letter(record, "handler", str(exc))
                    return DEAD
                except Exception as exc:
                    transient = is_transient(exc)
                    self._outages[id(record)] = is_outage(exc)
                    MESSAGES_FAILED.labels(service, record.topic, "retry").inc()
                    if not transient and attempt >= self.settings.handler_max_attempts:
                        # the cause first: the log line shows only the first line
                        text = "".join(traceback.format_exception(exc))[-4000:]
                        cause = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
                        await self.dead_letter(
                            record, "handler", f"after {attempt} attempts: {cause}\n{text}"
                        )
                        return DEAD
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
                        raise Abort from exc
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                    if stop.is_set() and transient:
                        raise Abort from exc
        finally:  # the message is through, or left for redelivery
            self._outages.pop(id(record), None)

    async def dead_letter(
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
        if self.on_dead_letter is not None:
            try:
                await self.on_dead_letter(letter)
            except Exception:  # the letter is out; its hook must not stall the partition
                log.exception("dead-letter hook failed", extra={"topic": record.topic})


def _context(record: ConsumerRecord[bytes, bytes], event: Event) -> dict[str, object]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "event_id": event.event_id,
        "correlation_id": getattr(event, "correlation_id", None),
    }
