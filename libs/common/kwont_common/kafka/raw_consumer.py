"""Raw aiokafka consumers, for the readers that do not fit :class:`EventConsumer`'s rules
(the gateway's push feed, execution's last ticks, marketdata's tick candles): one call
constructs the consumer, starts it (stopping it when the start fails) and retries that
with capped backoff until the broker answers or ``startup_timeout_s`` has passed.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

from kwont_common.retry import retry_until
from kwont_common.settings import Settings


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
