"""Typed Kafka I/O on aiokafka: publish a model in one call, consume into typed handlers."""

from kwont_common.kafka.consumer import (
    AssignedHook,
    DeadLetterHook,
    EventConsumer,
    Handler,
    Ordering,
    PartitionsHook,
    account_of_key,
)
from kwont_common.kafka.producer import EventProducer

__all__ = [
    "AssignedHook",
    "DeadLetterHook",
    "EventConsumer",
    "EventProducer",
    "Handler",
    "Ordering",
    "PartitionsHook",
    "account_of_key",
]
