"""One owner per account on a real broker (tansu): members of one group reading three account
topics get the same partition numbers on every topic, keep them across rebalances, and
every record of one account (published through ``EventProducer``) reaches one member; the
rebalance hooks see the partitions. aiokafka's default round-robin assignment fails the
same check (three members, four partitions)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from kwont_common import events as ev
from kwont_common.kafka import EventConsumer, EventProducer
from kwont_common.kafka.assignment import split_numbers
from kwont_common.kafka.partitioning import account_partition
from kwont_common.settings import Settings
from kwont_common.testing import sample_events
from tests.libs.common.kafka_helpers import create, publish, settings_for, wait_for

PARTITIONS = 4
TOPICS = ("signals", "fills", "order-updates")
ACCOUNTS = [f"acct-{i}" for i in range(8)]


@pytest.mark.unit
def test_the_split_keeps_what_members_owned_and_moves_only_what_must_move() -> None:
    assert split_numbers(4, {"a": [], "b": []}) == {"a": [0, 1], "b": [2, 3]}
    # a third member takes one number from one of them; the others stay where they were
    assert split_numbers(4, {"a": [0, 1], "b": [2, 3], "c": []}) == {
        "a": [0, 1], "b": [2], "c": [3],
    }  # fmt: skip
    # a member leaves: its numbers go to those short of their share
    assert split_numbers(4, {"b": [2], "c": [3]}) == {"b": [0, 2], "c": [1, 3]}
    # ids sorting first do not take numbers away from their owners
    assert split_numbers(4, {"z": [0, 1, 2, 3], "a": []}) == {"a": [2, 3], "z": [0, 1]}
    # claims beyond the count, or of one number twice, are dropped
    assert split_numbers(2, {"a": [1, 7], "b": [1]}) == {"a": [1], "b": [0]}
    assert split_numbers(2, {"a": [], "b": [], "c": []}) == {"a": [0], "b": [1], "c": []}


class Member:
    """One consumer of the group in the background, recording its hooks and what it read."""

    def __init__(self, settings: Settings, name: str, reads: dict[str, set[str]]) -> None:
        self.name = name
        self.settings = settings
        self.stop = asyncio.Event()
        self.held: set[TopicPartition] = set()
        self.assigned: list[set[TopicPartition]] = []
        self.revoked: list[set[TopicPartition]] = []

        async def on_event(event: ev.Signal | ev.Fill | ev.OrderUpdate) -> None:
            reads[event.account].add(name)

        async def on_assigned(partitions: set[TopicPartition]) -> None:
            self.assigned.append(partitions)
            self.held = set(partitions)

        async def on_revoked(partitions: set[TopicPartition]) -> None:
            self.revoked.append(partitions)
            self.held = set()

        self.producer = EventProducer(settings)
        self.consumer = EventConsumer(
            settings, self.producer, dict.fromkeys(TOPICS, on_event),
            on_assigned=on_assigned, on_revoked=on_revoked,
        )  # fmt: skip

    async def start(self) -> None:
        await self.producer.start()
        self.task = asyncio.create_task(self.consumer.run(self.stop))

    async def leave(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)
        await self.producer.stop()

    def numbers(self) -> dict[str, set[int]]:
        """Partition numbers held per base topic name."""
        prefix = self.settings.topic_prefix
        return {t: {tp.partition for tp in self.held if tp.topic == prefix + t} for t in TOPICS}


def settled(members: list[Member]) -> bool:
    """Every member holds partitions, and together every partition once (one generation)."""
    held = [tp for m in members for tp in m.held]
    return all(m.held for m in members) and len(held) == len(set(held)) == 3 * PARTITIONS


def same_numbers_on_every_topic(member: Member) -> bool:
    return len({frozenset(ps) for ps in member.numbers().values()}) == 1


def account_events(account: str) -> list[ev.Event]:
    samples = sample_events()
    return [
        samples[t].model_copy(update={"event_id": uuid.uuid4(), "account": account, "symbol": s})
        for t in TOPICS
        for s in ("BTCUSDT", "ETHUSDT")
    ]


@pytest.mark.integration
async def test_one_member_owns_every_account_topic_of_an_account_across_rebalances(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap, kafka_session_timeout_ms=6000)
    await create(settings, *TOPICS, partitions=PARTITIONS)
    reads: dict[str, set[str]] = defaultdict(set)
    a, b, c = (Member(settings, n, reads) for n in "abc")
    for m in (a, b, c):
        await m.start()
    try:
        await wait_for(lambda: settled([a, b, c]), timeout=60)
        for m in (a, b, c):
            assert same_numbers_on_every_topic(m), (m.name, m.numbers())
            assert m.held == set(m.consumer._consumer.assignment())  # type: ignore[union-attr]
        first = {m.name: m.numbers()["signals"] for m in (a, b, c)}

        await publish(settings, *[e for acct in ACCOUNTS for e in account_events(acct)])
        await wait_for(lambda: len(reads) == len(ACCOUNTS), timeout=30)
        await asyncio.sleep(1)  # a second member reading one account would show by now
        for account, readers in reads.items():
            assert len(readers) == 1, (account, readers)
            owner = {"a": a, "b": b, "c": c}[next(iter(readers))]
            assert account_partition(account, PARTITIONS) in owner.numbers()["signals"]

        held_by_c = set(c.held)
        await c.leave()
        assert c.revoked[-1] == held_by_c  # at shutdown, after its last commit
        await wait_for(lambda: settled([a, b]), timeout=60)
        for m in (a, b):
            assert same_numbers_on_every_topic(m), (m.name, m.numbers())
            assert m.numbers()["signals"] >= first[m.name]  # kept what it had
            assert m.assigned[-1] == m.held
        assert a.revoked[-1] | b.revoked[-1] | held_by_c == {
            TopicPartition(settings.topic_prefix + t, p) for t in TOPICS for p in range(PARTITIONS)
        }

        await b.leave()
        await wait_for(lambda: settled([a]), timeout=60)
        assert a.numbers() == {t: set(range(PARTITIONS)) for t in TOPICS}
    finally:
        for m in (a, b, c):
            if not m.stop.is_set():
                await m.leave()


@pytest.mark.integration
async def test_round_robin_gives_one_member_different_numbers_per_topic(
    kafka_bootstrap: str,
) -> None:
    """What the assignor is for: the same group on aiokafka's default fails the check."""
    settings = settings_for(kafka_bootstrap, kafka_session_timeout_ms=6000)
    await create(settings, *TOPICS, partitions=PARTITIONS)
    members = [Member(settings, n, defaultdict(set)) for n in "abc"]
    for m in members:
        m.consumer._assignors = (RoundRobinPartitionAssignor,)
        await m.start()
    try:
        await wait_for(lambda: settled(members), timeout=60)
        assert not all(same_numbers_on_every_topic(m) for m in members)
    finally:
        for m in members:
            await m.leave()


@pytest.mark.integration
async def test_the_group_still_forms_with_a_member_of_the_older_version(
    kafka_bootstrap: str,
) -> None:
    """Rolling upgrade: a member offering round-robin only (before this assignor) and one
    offering both share the partitions (round-robin, the one both offer)."""
    settings = settings_for(kafka_bootstrap, kafka_session_timeout_ms=6000)
    await create(settings, *TOPICS, partitions=PARTITIONS)
    old, new = (Member(settings, n, defaultdict(set)) for n in ("old", "new"))
    old.consumer._assignors = (RoundRobinPartitionAssignor,)
    for m in (old, new):
        await m.start()
    try:
        await wait_for(lambda: settled([old, new]), timeout=60)
    finally:
        for m in (old, new):
            await m.leave()


@pytest.mark.integration
async def test_on_revoked_comes_after_the_work_in_hand_is_finished_and_committed(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap, kafka_session_timeout_ms=6000)
    await create(settings, "signals", partitions=2)
    started, finished = asyncio.Event(), asyncio.Event()
    at_revoke: list[tuple[bool, int | None]] = []

    async def slow(_: ev.Signal) -> None:
        started.set()
        await asyncio.sleep(6)  # past the rebalance: heartbeat (2 s) and tansu join hold (3 s)
        finished.set()

    async def on_revoked(partitions: set[TopicPartition]) -> None:
        tp = TopicPartition(f"{settings.topic_prefix}signals", account_partition("acct-0", 2))
        group = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=settings.group_id)
        await group.start()
        try:
            at_revoke.append((finished.is_set(), await group.committed(tp)))
        finally:
            await group.stop()

    producer = EventProducer(settings)
    await producer.start()
    stop = asyncio.Event()
    first = EventConsumer(settings, producer, {"signals": slow}, on_revoked=on_revoked)
    task = asyncio.create_task(first.run(stop))
    second = Member(settings, "b", defaultdict(set))
    try:
        await publish(settings, *account_events("acct-0")[:1])
        await asyncio.wait_for(started.wait(), 30)
        await second.start()  # a rebalance while the message is in hand
        await wait_for(lambda: bool(at_revoke), timeout=30)
        assert at_revoke[0] == (True, 1)  # handled, and its offset committed first
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await second.leave()
        await producer.stop()


@pytest.mark.integration
async def test_a_failing_hook_stops_the_consumer(kafka_bootstrap: str) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals", partitions=2)

    async def on_assigned(partitions: set[TopicPartition]) -> None:
        raise RuntimeError("state for the partitions could not be loaded")

    async def on_signal(_: ev.Signal) -> None:
        return None

    producer = EventProducer(settings)
    await producer.start()
    try:
        consumer = EventConsumer(settings, producer, {"signals": on_signal},
                                 on_assigned=on_assigned)  # fmt: skip
        with pytest.raises(RuntimeError, match="could not be loaded"):
            await asyncio.wait_for(consumer.run(asyncio.Event()), 30)
    finally:
        await producer.stop()


async def read_from(settings: Settings, ids: list[uuid.UUID], starts: dict[TopicPartition, int]
                    | None) -> list[uuid.UUID]:  # fmt: skip
    """What a consumer of the group handles, in order, until it has the last of ``ids``, when
    its ``on_assigned`` returns ``starts``."""
    seen: list[uuid.UUID] = []

    async def on_assigned(partitions: set[TopicPartition]) -> dict[TopicPartition, int] | None:
        return starts

    async def on_signal(signal: ev.Signal) -> None:
        seen.append(signal.event_id)

    producer = EventProducer(settings)
    await producer.start()
    stop = asyncio.Event()
    consumer = EventConsumer(settings, producer, {"signals": on_signal}, on_assigned=on_assigned)
    task = asyncio.create_task(consumer.run(stop))
    try:
        await wait_for(lambda: ids[-1] in seen, timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()
    return seen


@pytest.mark.integration
async def test_on_assigned_may_return_the_offsets_to_start_at(kafka_bootstrap: str) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals")
    tp = TopicPartition(f"{settings.topic_prefix}signals", 0)
    signals = [e for e in account_events("acct-0") if isinstance(e, ev.Signal)]
    signals += [s.model_copy(update={"event_id": uuid.uuid4()}) for s in signals * 2]
    ids = [s.event_id for s in signals]
    await publish(settings, *signals)
    group = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=settings.group_id,
                             enable_auto_commit=False)  # fmt: skip
    await group.start()
    try:
        group.assign([tp])
        await group.commit({tp: 4})
    finally:
        await group.stop()

    assert len(ids) == 6
    assert await read_from(settings, ids, None) == ids[4:]  # from the committed offset
    assert await read_from(settings, ids, {tp: 1}) == ids[1:]  # not from the committed 6
