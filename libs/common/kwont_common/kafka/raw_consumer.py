"""Raw aiokafka consumers, for the readers that do not fit :class:`EventConsumer`'s rules
(the gateway's push feed, execution's last ticks and paper stop checks, marketdata's tick
candles): one call constructs the consumer, starts it (stopping it when the start fails)
and retries that with capped backoff until the broker answers or ``startup_timeout_s`` has
passed. :func:`follow` is the whole loop of a reader outside any consumer group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

from kwont_common.metrics import MESSAGES_CONSUMED, MESSAGES_FAILED
from kwont_common.retry import retry_until
from kwont_common.settings import Settings

T = TypeVar("T")


async def open_consumer(
    settings: Settings,
    what: str,
    *topics: str,
    listener: ConsumerRebalanceListener | None = None,
    **options: Any,
) -> AIOKafkaConsumer:
    """A started consumer of ``topics`` on ``settings``' brokers; ``options`` are the rest
    of aiokafka's arguments (``group_id``, ``auto_offset_reset``, ...). With a ``listener``
    the topics are subscribed with it before the start. ``what`` names it in the logs.

    Raises:
        TransientError: the broker was not reachable within ``startup_timeout_s``.
    """

    async def start_once() -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            *(() if listener else topics),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            **options,
        )
        if listener is not None:
            consumer.subscribe(list(topics), listener=listener)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        return consumer

    return await retry_until(start_once, what, settings.startup_timeout_s)


async def follow(
    settings: Settings,
    what: str,
    name: str,
    parse: Callable[[bytes | None], T | None],
    handle: Callable[[T], Awaitable[None] | None],
    stop: asyncio.Event,
    *,
    max_records: int,
    **options: Any,
) -> None:
    """Read topic ``name`` outside any consumer group (nothing committed) until ``stop`` is
    set: each record's value through ``parse`` into ``handle`` (awaited when it returns an
    awaitable). A value ``parse`` makes None of is counted failed (``validation``) and
    skipped, with nothing to dead-letter; every record counts as consumed. ``options`` go
    to :func:`open_consumer` (``auto_offset_reset``, ``fetch_max_wait_ms``, ...).

    Raises:
        TransientError: the broker was not reachable within ``startup_timeout_s``.
    """
    consumer = await open_consumer(
        settings, what, name, group_id=None, enable_auto_commit=False, **options
    )
    service = settings.service_name
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=max_records)
            for records in batch.values():
                for record in records:
                    value = parse(record.value)
                    if value is None:
                        MESSAGES_FAILED.labels(service, name, "validation").inc()
                        continue
                    done = handle(value)
                    if done is not None:
                        await done
                MESSAGES_CONSUMED.labels(service, name).inc(len(records))
    finally:
        await consumer.stop()
