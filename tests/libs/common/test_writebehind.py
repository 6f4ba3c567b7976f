"""The shared write-behind on a real SecantusDB: idempotent upserts by ``_id`` (the first
decision and the latest view win), a failed batch stays queued and is written by the
background task once the database takes it, the last write of a batch is journaled, and an
input is marked in the partition store only once its documents are written."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient, UpdateOne, monitoring

from kwont_common.state import PartitionStore
from kwont_common.state.writebehind import WriteBehind
from kwont_devstack.pytest_plugin import MongoEndpoint

pytestmark = pytest.mark.integration


class _Journaled(monitoring.CommandListener):
    """Write commands the client sent with ``j: true`` (observed on the wire)."""

    def __init__(self) -> None:
        self.journaled: list[str] = []
        self.writes: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("update", "insert"):
            self.writes.append(event.command[event.command_name])
            if (event.command.get("writeConcern") or {}).get("j"):
                self.journaled.append(event.command[event.command_name])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...
    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


async def test_upserts_are_idempotent_and_the_last_write_is_journaled(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    seen = _Journaled()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo.app_uri, event_listeners=[seen]
    )
    db = client[mongo_db]
    views = WriteBehind(db)
    try:
        views.insert("orders", "ke-1", {"quantity": "1"})
        views.insert("orders", "ke-1", {"quantity": "2"})  # a replay's copy
        views.put("books", "acct", {"equity": "1"})
        views.put("books", "acct", {"equity": "2"})
        views.add("audit", [UpdateOne({"_id": n}, {"$set": {"n": n}}, upsert=True)
                            for n in range(3)])  # fmt: skip
        assert views.pending == 5 and await views.flush() == 5
        views.insert("orders", "ke-1", {"quantity": "3"})  # after a crash
        assert await views.flush() == 1
        assert await db.orders.find_one({"_id": "ke-1"}) == {"_id": "ke-1", "quantity": "1"}
        assert (await db.books.find_one({"_id": "acct"}) or {})["equity"] == "2"
        assert await db.audit.count_documents({}) == 3
        # one journaled write per batch, after the others of the batch
        assert seen.journaled == ["audit", "orders"]
        assert seen.writes.index("audit", seen.writes.index("books")) > 0
    finally:
        await client.close()


async def test_a_failed_batch_stays_queued_and_marks_nothing_until_written(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db = client[mongo_db]
    store: PartitionStore[dict[str, int]] = PartitionStore(
        db.snapshots, "g", new=dict, dump=lambda s: dict(s), load=dict
    )
    tp = TopicPartition("t", 0)
    await store.assign({tp})
    behind = WriteBehind(db, every_s=0.05, eager=True, store=store)
    stop = asyncio.Event()
    task = asyncio.create_task(behind.run(stop))
    try:
        store.apply("t", 0, 0, lambda s: s.update(n=1))
        behind.put("bad$name", "x", {"a": 1})  # a collection the server refuses
        behind.handled("t", 0, 0)
        await asyncio.sleep(0.5)  # retried in the background, still refused
        assert behind.pending == 1
        assert store.snapshot(0)["offsets"] == [{"topic": "t", "next": 0}], "marked unwritten"
        # what the refused batch held is queued again under the newer write
        behind.put("bad$name", "x", {"a": 2})
        assert behind.pending == 1
    finally:
        stop.set()
        with pytest.raises(Exception):  # noqa: B017 - the server's own error, at the end
            await asyncio.wait_for(task, 10)
    behind._keyed.clear()  # the refused document is given up; the input stays queued
    behind.put("docs", "x", {"a": 3})
    await behind.written()
    assert (await db.docs.find_one({"_id": "x"}) or {})["a"] == 3
    assert store.snapshot(0)["offsets"] == [{"topic": "t", "next": 1}]
    await client.close()
