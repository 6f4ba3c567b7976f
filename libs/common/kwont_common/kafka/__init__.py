"""Typed Kafka I/O on aiokafka: publish a model in one call, consume into typed handlers."""

from kwont_common.kafka.consumer import EventConsumer, Handler
from kwont_common.kafka.failures import DeadLetterHook
from kwont_common.kafka.inputs import HandledHook, Input, current_input
from kwont_common.kafka.lanes import Ordering, account_of_key
from kwont_common.kafka.producer import EventProducer
from kwont_common.kafka.raw_consumer import open_consumer
from kwont_common.kafka.rebalance import AssignedHook, PartitionsHook

__all__ = [
    "AssignedHook",
    "DeadLetterHook",
    "EventConsumer",
    "EventProducer",
    "HandledHook",
    "Handler",
    "Input",
    "Ordering",
    "PartitionsHook",
    "account_of_key",
    "current_input",
    "open_consumer",
]
