"""The partition state store in a toy service on real tansu and SecantusDB: a count per
account over a co-partitioned topic, each output's id made from its input's id. A member
that crashes mid-stream hands its partitions to the other; the counts come out exactly as
in an uninterrupted run, nothing lost, every duplicate output the same as its original. A
restart reads only what came after the snapshot.

The members use aiokafka directly (with the platform's co-partitioned assignor) because
the seek to the snapshot's offsets is theirs to do in the rebalance listener; the consumer
never commits, so without the seek a member would read its partitions from the start.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter as Tally
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from pymongo import AsyncMongoClient

from kwont_common.kafka.assignment import CopartitionedAssignor
from kwont_common.state import PartitionStore
from kwont_devstack.pytest_plugin import MongoEndpoint

from .kafka_helpers import create, settings_for, wait_for

pytestmark = pytest.mark.integration
PARTITIONS = 4
ACCOUNTS = [f"acct{i}" for i in range(8)]


def _partition(account: str) -> int:
    return int(account.removeprefix("acct")) % PARTITIONS


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, member: Member) -> None:
        self.member = member

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.member.generation += 1
        if not self.member.crashed:
            await self.member.store.revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.member.consumer
        self.member.generation += 1
        seeks = await self.member.store.assign(assigned, await consumer.beginning_offsets(assigned))
        for tp, offset in seeks.items():
            consumer.seek(tp, offset)


class Member:
    """One replica of the toy service."""

    def __init__(self, bootstrap: str, group: str, topics: tuple[str, str], coll: Any) -> None:
        self.bootstrap, self.source, self.sink = bootstrap, topics[0], topics[1]
        self.store: PartitionStore[dict[str, int]] = PartitionStore(
            coll, group, new=dict, dump=lambda s: {"counts": dict(s)},
            load=lambda d: dict(d["counts"]), flush_every_s=0.05,
        )  # fmt: skip
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=200,
            partition_assignment_strategy=(CopartitionedAssignor(),),
        )  # fmt: skip
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self.handled: list[tuple[int, int]] = []
        self.generation = 0
        self.crashed = self.stopping = False
        self.task: asyncio.Task[None] | None = None

    async def start(self, delay: float = 0.0) -> None:
        self.consumer.subscribe([self.source], listener=_Listener(self))
        await self.producer.start()
        await self.consumer.start()
        await self.store.start()
        self.task = asyncio.create_task(self._run(delay))

    async def _run(self, delay: float) -> None:
        while not self.stopping:
            batch = await self.consumer.getmany(timeout_ms=100)
            generation = self.generation  # what getmany returns is from after any seek
            for records in batch.values():
                for r in records:
                    # a rebalance during a handler: the listener's seek reads the rest again
                    if self.stopping or generation != self.generation:
                        break
                    if r.partition not in self.store.owned:
                        continue
                    if self.store.reflects(r.topic, r.partition, r.offset):
                        continue
                    await self._handle(r.topic, r.partition, r.offset, json.loads(r.value))
                    await asyncio.sleep(delay)

    async def _handle(self, topic: str, p: int, offset: int, msg: dict[str, str]) -> None:
        account = msg["account"]

        def count(state: dict[str, int]) -> int:
            state[account] = state.get(account, 0) + 1
            return state[account]

        n = self.store.apply(topic, p, offset, count)
        out = {"id": f"{msg['id']}:count", "account": account, "count": n}
        await self.producer.send_and_wait(self.sink, json.dumps(out).encode(), partition=p)
        self.store.mark(topic, p, offset)
        self.handled.append((p, offset))

    async def stop(self) -> None:
        """Graceful: finish the input in hand, write the state, leave."""
        self.stopping = True
        if self.task is not None:
            await self.task
        await self.store.stop()
        await self.consumer.stop()
        await self.producer.stop()

    def stop_snapshots(self) -> None:
        """The store's write-behind stops (as if it hung): nothing more is snapshotted."""
        flusher = self.store._flusher._task
        if flusher is not None:
            flusher.cancel()

    async def crash(self) -> None:
        """As a kill: no more work and no last snapshot (only the connections close, so the
        group does not wait out the session)."""
        self.crashed = True
        if self.task is not None:
            self.task.cancel()
        self.stop_snapshots()  # the write-behind dies with the process
        await asyncio.gather(self.consumer.stop(), self.producer.stop(), return_exceptions=True)


async def _publish(bootstrap: str, topic: str, inputs: list[dict[str, str]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for msg in inputs:
            value = json.dumps(msg).encode()
            await producer.send_and_wait(topic, value, partition=_partition(msg["account"]))
    finally:
        await producer.stop()


async def _outputs(bootstrap: str, topic: str, count: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(30):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=200)
                out += [json.loads(r.value) for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return out


def _inputs(rounds: int) -> list[dict[str, str]]:
    return [{"id": uuid.uuid4().hex, "account": a} for _ in range(rounds) for a in ACCOUNTS]


@pytest.fixture
async def coll(mongo: MongoEndpoint, mongo_db: str) -> Any:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    yield client[mongo_db].state
    await client.close()


async def test_a_crash_mid_stream_loses_nothing_and_every_duplicate_is_the_same_output(
    kafka_bootstrap: str, coll: Any
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "in", "out", partitions=PARTITIONS)
    topics = (f"{settings.topic_prefix}in", f"{settings.topic_prefix}out")
    inputs = _inputs(25)  # 200 inputs, 25 per account
    await _publish(kafka_bootstrap, topics[0], inputs)
    a = Member(kafka_bootstrap, settings.group_id, topics, coll)
    b = Member(kafka_bootstrap, settings.group_id, topics, coll)
    await a.start(delay=0.01)
    await b.start(delay=0.01)
    try:
        await wait_for(lambda: len(a.store.owned) == 2 and len(b.store.owned) == 2)
        await wait_for(lambda: a.store.writes >= 2 and len(a.handled) >= 30)
        a.stop_snapshots()  # no more snapshots from a: what it handles next is replayed
        since = len(a.handled)
        await wait_for(lambda: len(a.handled) >= since + 10)
        await a.crash()  # mid-stream, with inputs handled since its last snapshot
        lost_with_a = len(a.handled)
        await wait_for(lambda: len(b.store.owned) == PARTITIONS, timeout=30)
        await wait_for(
            lambda: sum(sum(b.store.state(p).values()) for p in range(PARTITIONS)) == 200,
            timeout=60,
        )
    finally:
        await b.stop()
        if not a.crashed:
            await a.crash()
    handled = len(a.handled) + len(b.handled)
    outputs = await _outputs(kafka_bootstrap, topics[1], handled)
    by_id: dict[str, set[int]] = {}
    for out in outputs:
        by_id.setdefault(out["id"], set()).add(out["count"])
    assert set(by_id) == {f"{m['id']}:count" for m in inputs}  # 0 lost
    assert all(len(counts) == 1 for counts in by_id.values())  # a duplicate is the same output
    assert len(outputs) - len(by_id) >= 5, "the replay republishes what a did since its snapshot"
    final = Tally(out["account"] for out in {o["id"]: o for o in outputs}.values())
    assert final == Tally(m["account"] for m in inputs)  # as an uninterrupted run: 25 each
    snapshots = {d["_id"]: d async for d in coll.find({})}
    counts = {k: v for d in snapshots.values() for k, v in d["state"]["counts"].items()}
    assert counts == dict.fromkeys(ACCOUNTS, 25)
    print(f"a handled {lost_with_a} before the crash; outputs {len(outputs)}, unique {len(by_id)}")


async def test_a_restart_reads_only_what_came_after_the_snapshot(
    kafka_bootstrap: str, coll: Any
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "in", "out", partitions=PARTITIONS)
    topics = (f"{settings.topic_prefix}in", f"{settings.topic_prefix}out")
    await _publish(kafka_bootstrap, topics[0], _inputs(5))  # 40
    first = Member(kafka_bootstrap, settings.group_id, topics, coll)
    await first.start()
    await wait_for(lambda: len(first.handled) == 40)
    await first.stop()
    stored = {d["_id"]: d["offsets"] for d in await coll.find({}).to_list()}
    assert stored == {
        f"{settings.group_id}:{p}": [{"topic": topics[0], "next": 10}] for p in range(PARTITIONS)
    }
    await _publish(kafka_bootstrap, topics[0], _inputs(2))  # 16 more
    second = Member(kafka_bootstrap, settings.group_id, topics, coll)
    await second.start()
    try:
        await wait_for(lambda: len(second.handled) == 16)
        await asyncio.sleep(0.5)  # nothing older follows
    finally:
        await second.stop()
    assert sorted(second.handled) == [(p, o) for p in range(PARTITIONS) for o in (10, 11, 12, 13)]
    docs = {d["_id"]: d["state"]["counts"] async for d in coll.find({})}
    assert {k: v for counts in docs.values() for k, v in counts.items()} == dict.fromkeys(
        ACCOUNTS, 7
    )
