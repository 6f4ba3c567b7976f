"""Which input a handler of :class:`~kwont_common.kafka.consumer.EventConsumer` is
handling, for state kept per owned partition (:class:`~kwont_common.state.PartitionStore`):
``store.apply(*current_input(), change)`` in the handler, ``on_handled=store.mark`` on the
consumer."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import NamedTuple

from aiokafka import ConsumerRecord


class Input(NamedTuple):
    """The message a handler is handling: full topic name, partition, offset."""

    topic: str
    partition: int
    offset: int


HandledHook = Callable[[str, int, int], None]
"""``on_handled(topic, partition, offset)``: the message is through (synchronous, no I/O:
``PartitionStore.mark``)."""

_INPUT: contextvars.ContextVar[Input] = contextvars.ContextVar("kwont_consumer_input")


def current_input() -> Input:
    """The input the running handler was called for (each message runs in its own task).

    Raises:
        LookupError: called outside a handler that :class:`EventConsumer` runs.
    """
    return _INPUT.get()


def entering(record: ConsumerRecord[bytes, bytes]) -> None:
    """Set the input of the handler about to run in this task."""
    _INPUT.set(Input(record.topic, record.partition, record.offset))
