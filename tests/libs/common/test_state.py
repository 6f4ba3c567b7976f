"""The partition state store: offsets it may claim (unit) and its snapshots on a real
SecantusDB (integration): one document per changed partition in one bulk write, state and
offsets together, never an unsettled partition, loaded back on assignment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient, monitoring

from kwont_common.state import InputOffsets, NotOwned, PartitionStore
from kwont_devstack.pytest_plugin import MongoEndpoint

Counts = dict[str, int]


def _dump(state: Counts) -> dict[str, Any]:
    return {"counts": dict(state)}


def _load(doc: dict[str, Any]) -> Counts:
    return dict(doc["counts"])


def _count(account: str) -> Any:
    def change(state: Counts) -> int:
        state[account] = state.get(account, 0) + 1
        return state[account]

    return change


class _Writes(monitoring.CommandListener):
    """Names of the commands the client sent (real ones, observed, not faked)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.mark.unit
def test_offsets_advance_only_over_marked_inputs_and_settle_without_gaps() -> None:
    o = InputOffsets(10)
    o.applied(10)
    o.applied(11)
    o.marked(11)  # a later key finished first: 10 is still out
    assert (o.next, o.settled) == (10, False)
    o.marked(10)
    assert (o.next, o.settled) == (12, True)
    o.marked(13)  # 12 not done yet (it may not even have been applied)
    assert (o.next, o.settled) == (12, False)
    o.marked(12)
    assert (o.next, o.settled) == (14, True)
    o.marked(5)  # a redelivery of what is reflected changes nothing
    assert (o.next, o.settled) == (14, True)


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[tuple[Any, _Writes]]:
    writes = _Writes()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo.app_uri, event_listeners=[writes]
    )
    try:
        yield client[mongo_db].state, writes
    finally:
        await client.close()


def _store(coll: Any, **kw: Any) -> PartitionStore[Counts]:
    return PartitionStore(coll, "g1", new=dict, dump=_dump, load=_load, **kw)


@pytest.mark.integration
async def test_flush_writes_one_document_per_changed_partition_in_one_bulk_write(
    db: tuple[Any, _Writes],
) -> None:
    coll, writes = db
    store = _store(coll)
    tps = {TopicPartition(t, p) for t in ("fills", "signals") for p in range(4)}
    assert await store.assign(tps) == {tp: 0 for tp in tps}  # no snapshot: from the start
    for topic, p, offset, account in [
        ("fills", 0, 0, "a"), ("fills", 2, 0, "b"), ("fills", 2, 1, "b"), ("signals", 2, 0, "b")
    ]:  # fmt: skip
        store.apply(topic, p, offset, _count(account))
        store.mark(topic, p, offset)
    store.mark("signals", 0, 0)  # handled without a change: the offset still moves
    writes.names.clear()
    assert await store.flush() == 2
    assert writes.names == ["update"]  # one round trip for both partitions
    docs = {d["_id"]: d async for d in coll.find({})}
    assert set(docs) == {"g1:0", "g1:2"}
    assert docs["g1:0"]["state"] == {"counts": {"a": 1}}
    assert docs["g1:0"]["offsets"] == [
        {"topic": "fills", "next": 1},
        {"topic": "signals", "next": 1},
    ]
    assert docs["g1:2"]["state"] == {"counts": {"b": 3}}
    assert docs["g1:2"]["offsets"] == [
        {"topic": "fills", "next": 2},
        {"topic": "signals", "next": 1},
    ]
    assert "written_at" in docs["g1:2"]
    writes.names.clear()
    assert await store.flush() == 0  # nothing changed since: no round trip
    assert writes.names == []


@pytest.mark.integration
async def test_a_partition_with_inputs_not_acknowledged_waits_for_a_later_flush(
    db: tuple[Any, _Writes],
) -> None:
    coll, _ = db
    store = _store(coll)
    await store.assign({TopicPartition("fills", 1)})
    store.apply("fills", 1, 0, _count("a"))  # outputs still on their way
    assert await store.flush() == 0
    assert store.deferred == 1
    assert await coll.count_documents({}) == 0  # the count without its offset would replay
    store.mark("fills", 1, 0)
    assert await store.flush() == 1
    doc = await coll.find_one({"_id": "g1:1"})
    assert doc is not None
    assert (doc["state"], doc["offsets"]) == ({"counts": {"a": 1}}, [{"topic": "fills", "next": 1}])


@pytest.mark.integration
async def test_apply_runs_while_a_flush_is_in_flight_and_the_snapshot_stays_consistent(
    db: tuple[Any, _Writes],
) -> None:
    coll, writes = db
    store = _store(coll, flush_every_s=0.05)
    await store.assign({TopicPartition("fills", 0)})
    await store.start()
    try:
        for offset in range(200):  # 200 inputs; the flush task writes behind them
            assert store.apply("fills", 0, offset, _count("a")) == offset + 1
            store.mark("fills", 0, offset)
            if offset % 20 == 0:
                await asyncio.sleep(0.01)  # let the write-behind run mid-stream
            if offset == 100:  # on a loaded machine the loop may not have run yet: wait
                deadline = asyncio.get_running_loop().time() + 10
                while store.writes < 1 and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.01)
                assert store.writes >= 1  # a snapshot went out mid-stream
    finally:
        await store.stop()
    doc = await coll.find_one({"_id": "g1:0"})
    assert doc is not None
    assert (doc["state"], doc["offsets"]) == (
        {"counts": {"a": 200}},
        [{"topic": "fills", "next": 200}],
    )
    assert "update" in writes.names


@pytest.mark.integration
async def test_assignment_loads_the_snapshots_and_returns_their_offsets(
    db: tuple[Any, _Writes],
) -> None:
    coll, writes = db
    first = _store(coll)
    tps = {TopicPartition("fills", 0), TopicPartition("fills", 1), TopicPartition("orders", 1)}
    await first.assign(tps)
    for offset in range(3):
        first.apply("fills", 1, offset, _count("x"))
        first.mark("fills", 1, offset)
    first.apply("fills", 0, 0, _count("y"))
    first.mark("fills", 0, 0)
    await first.revoke({TopicPartition("fills", 1)})  # written, then dropped
    assert first.owned == {0}
    with pytest.raises(NotOwned):
        first.state(1)
    first.mark("fills", 1, 3)  # a late acknowledgement for a partition gone: ignored
    await first.stop()  # the rest is written at stop

    second = _store(coll)
    writes.names.clear()
    seeks = await second.assign(tps | {TopicPartition("fills", 2)})
    assert writes.names == ["find"]  # every snapshot in one read
    assert seeks == {
        TopicPartition("fills", 0): 1,
        TopicPartition("fills", 1): 3,
        TopicPartition("orders", 1): 0,  # no input of it seen yet
        TopicPartition("fills", 2): 0,  # no snapshot
    }
    assert second.state(1) == {"x": 3}
    assert second.state(0) == {"y": 1}
    assert second.reflects("fills", 1, 2) and not second.reflects("fills", 1, 3)
    # the log lost its start: begin at its first offset, or nothing would ever settle
    third = _store(coll)
    assert await third.assign({TopicPartition("fills", 3)}, {TopicPartition("fills", 3): 40}) == {
        TopicPartition("fills", 3): 40
    }


@pytest.mark.integration
async def test_a_revoked_partition_not_settled_keeps_its_older_snapshot(
    db: tuple[Any, _Writes],
) -> None:
    coll, _ = db
    store = _store(coll)
    await store.assign({TopicPartition("fills", 0)})
    store.apply("fills", 0, 0, _count("a"))
    store.mark("fills", 0, 0)
    assert await store.flush() == 1
    store.apply("fills", 0, 1, _count("a"))  # its outputs never acknowledged
    await store.revoke({TopicPartition("fills", 0)})
    assert store.owned == set()
    doc = await coll.find_one({"_id": "g1:0"})
    assert doc is not None  # the next owner replays offset 1 from here
    assert (doc["state"], doc["offsets"]) == ({"counts": {"a": 1}}, [{"topic": "fills", "next": 1}])
