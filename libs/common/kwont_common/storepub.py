"""Store a document, then publish the event it stands for: the order every writer keeps.

The document goes to MongoDB first, so a reader that sees the event on Kafka can always
find what it refers to. A failed write (``DuplicateKeyError`` included) raises before
anything is published; a failed publish leaves the document stored for a retry or a
reaper to pick up.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from kwont_common.events import Event
from kwont_common.kafka.producer import EventProducer


async def store_then_publish(
    collection: AsyncCollection[dict[str, Any]],
    doc: dict[str, Any],
    producer: EventProducer,
    *events: Event,
) -> None:
    """Insert ``doc`` into ``collection``, then publish ``events`` in order.

    Raises:
        pymongo.errors.DuplicateKeyError: ``doc``'s ``_id`` is stored already (nothing
            published).
        pymongo.errors.PyMongoError: the store refused (nothing published).
        aiokafka.errors.KafkaError: the broker refused (the document stays stored; the
            events before the failed one are published).
    """
    await collection.insert_one(doc)
    for event in events:
        await producer.publish(event)
