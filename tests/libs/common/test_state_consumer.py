"""The partition state store as ``EventConsumer``'s rebalance hooks, on real tansu and
SecantusDB: ``on_assigned=store.assign`` loads the snapshots and the consumer starts each
partition at the offset they reflect, not at the committed one (none here: it would read
from the start)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient

from kwont_common import events as ev
from kwont_common.kafka import EventConsumer, EventProducer
from kwont_common.kafka.partitioning import account_partition
from kwont_common.state import PartitionStore
from kwont_common.testing import sample_events
from kwont_devstack.pytest_plugin import MongoEndpoint

from .kafka_helpers import create, publish, settings_for, wait_for

pytestmark = pytest.mark.integration
PARTITIONS = 4
ACCOUNTS = [f"acct-{i}" for i in range(8)]


def _store(coll: Any, group: str) -> PartitionStore[dict[str, int]]:
    return PartitionStore(
        coll, group, new=dict, dump=lambda s: {"counts": dict(s)}, load=lambda d: d["counts"]
    )


@pytest.fixture
async def coll(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    yield client[mongo_db].state
    await client.close()


async def test_the_consumer_starts_each_partition_where_its_snapshot_ends(
    kafka_bootstrap: str, coll: Any
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "fills", partitions=PARTITIONS)
    topic = f"{settings.topic_prefix}fills"
    sample = sample_events()["fills"]
    assert isinstance(sample, ev.Fill)
    fills = [
        sample.model_copy(update={"event_id": uuid.uuid4(), "account": a})
        for _ in range(3)
        for a in ACCOUNTS
    ]
    await publish(settings, *fills)
    by_partition: dict[int, list[ev.Fill]] = {}
    for fill in fills:  # each partition's offsets follow the publish order
        by_partition.setdefault(account_partition(fill.account, PARTITIONS), []).append(fill)

    # an earlier owner handled the first two of each partition and wrote its snapshots
    before = _store(coll, settings.group_id)
    await before.assign({TopicPartition(topic, p) for p in range(PARTITIONS)})
    for p in range(PARTITIONS):
        for offset in (0, 1):
            before.apply(topic, p, offset, lambda s: s.update(n=s.get("n", 0) + 1))
            before.mark(topic, p, offset)
    await before.stop()

    store = _store(coll, settings.group_id)
    seen: list[uuid.UUID] = []

    async def on_fill(fill: ev.Fill) -> None:
        seen.append(fill.event_id)

    producer = EventProducer(settings)
    await producer.start()
    consumer = EventConsumer(
        settings, producer, {"fills": on_fill}, on_assigned=store.assign, on_revoked=store.revoke
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        expected = {f.event_id for fs in by_partition.values() for f in fs[2:]}
        await wait_for(lambda: len(seen) >= len(expected))
        await asyncio.sleep(0.5)  # nothing before the snapshots follows
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()
    assert set(seen) == expected and len(seen) == len(expected) == 24 - 2 * PARTITIONS
    assert store.owned == set()  # revoked at shutdown
