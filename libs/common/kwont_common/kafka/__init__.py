"""Typed Kafka I/O on aiokafka: publish a model in one call, consume into typed handlers."""

from kwont_common.kafka.consumer import EventConsumer, Handler
from kwont_common.kafka.producer import EventProducer

__all__ = ["EventConsumer", "EventProducer", "Handler"]
