"""store_then_publish on the real engines: the document is in MongoDB before the event is
on Kafka, and a refused store publishes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from kwont_common.events import Event
from kwont_common.kafka import EventProducer
from kwont_common.kafka.codec import encode
from kwont_common.settings import Settings
from kwont_common.storepub import store_then_publish
from kwont_common.testing import candle
from kwont_devstack.pytest_plugin import MongoEndpoint
from tests.libs.common.kafka_helpers import create, read_all, settings_for

pytestmark = pytest.mark.integration


class _Checking(EventProducer):
    """The real producer; before each publish it asks MongoDB whether the document is there."""

    def __init__(self, settings: Settings, collection: AsyncCollection[dict[str, Any]]) -> None:
        super().__init__(settings)
        self.collection = collection
        self.stored_before: list[bool] = []

    async def publish(self, event: Event, *, topic: str | None = None) -> None:
        found = await self.collection.find_one({"_id": "doc-1"})
        self.stored_before.append(found is not None)
        await super().publish(event, topic=topic)


async def test_the_document_is_stored_before_the_event_is_published(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "candles")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    coll = client[mongo_db].jobs
    producer = _Checking(settings, coll)
    await producer.start()
    first, second = candle(symbol="ETHUSDT", price=2500.0), candle(symbol="ETHUSDT", price=2501.0)
    try:
        await store_then_publish(coll, {"_id": "doc-1", "n": 1}, producer, first, second)
        assert producer.stored_before == [True, True]
        got = await read_all(kafka_bootstrap, f"{settings.topic_prefix}candles", 2)
        assert got == [encode(first)[1], encode(second)[1]]

        with pytest.raises(DuplicateKeyError):  # a second store of the same id: nothing sent
            await store_then_publish(coll, {"_id": "doc-1", "n": 2}, producer, first)
        assert producer.stored_before == [True, True]
        assert await coll.find_one({"_id": "doc-1"}) == {"_id": "doc-1", "n": 1}
    finally:
        await producer.stop()
        await client.close()
