"""Typed producer: ``await producer.publish(event)`` sends a model to its topic, keyed by the
registry's rule, and waits for the broker's acknowledgement (acks=all). On a co-partitioned
topic the partition is chosen from the key's account (:mod:`kwont_common.kafka.partitioning`);
elsewhere from the whole key (Kafka's default partitioner)."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer

from kwont_common.events import Event
from kwont_common.kafka.codec import encode
from kwont_common.kafka.partitioning import key_partition
from kwont_common.metrics import MESSAGES_PRODUCED
from kwont_common.retry import retry_until
from kwont_common.settings import Settings
from kwont_common.topics import Topic, topic_of

log = logging.getLogger(__name__)


class EventProducer:
    """Publishes events. Idempotence follows ``kafka_idempotence`` (off for tansu)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def _start_once(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=self.settings.kafka_client_id or f"kwont-{self.settings.service_name}",
            acks="all",
            enable_idempotence=self.settings.kafka_idempotence,
            linger_ms=0,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    async def start(self) -> None:
        """Connect, retrying until ``startup_timeout_s``.

        Raises:
            TransientError: when the broker did not answer in time.
        """
        self._producer = await retry_until(
            self._start_once, "kafka producer", self.settings.startup_timeout_s
        )

    async def stop(self) -> None:
        """Flush what is pending and close."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, event: Event, *, topic: str | None = None) -> None:
        """Send ``event`` to its registered topic (or ``topic``, a full name) and wait for acks.
        A co-partitioned model goes to its account's partition, on ``topic`` too.

        Raises:
            KeyError: the model is not registered to a topic and no topic was given.
            aiokafka.errors.KafkaError: the broker refused or timed out.
        """
        registered: Topic | None
        if topic is None:
            registered = topic_of(type(event))
            name = registered.full_name(self.settings.topic_prefix)
        else:
            registered, name = _registered(type(event)), topic
        key, value = encode(event)
        partition = None
        if registered is not None and registered.copartitioned:
            partition = await self.partition_of(name, key)
        await self.send_raw(name, key, value, partition=partition)

    async def partition_of(self, topic: str, key: bytes) -> int:
        """The partition of ``key`` on the co-partitioned ``topic`` (its count from the
        producer's cached metadata, which aiokafka refreshes every `metadata_max_age_ms`).

        Raises:
            RuntimeError: the producer was not started.
        """
        if self._producer is None:
            raise RuntimeError("EventProducer.start() was not called")
        return key_partition(key, len(await self._producer.partitions_for(topic)))

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes, *, partition: int | None = None
    ) -> None:
        """Send bytes as they are (dead letters, tests); to ``partition`` when given, else
        the default partitioner picks one from the key.

        Raises:
            RuntimeError: the producer was not started.
        """
        if self._producer is None:
            raise RuntimeError("EventProducer.start() was not called")
        await self._producer.send_and_wait(topic, value=value, key=key, partition=partition)
        MESSAGES_PRODUCED.labels(self.settings.service_name, topic).inc()


def _registered(model: type[Event]) -> Topic | None:
    try:
        return topic_of(model)
    except KeyError:
        return None
