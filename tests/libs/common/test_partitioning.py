"""The co-partitioning rule as a plain function (account -> partition), the mismatch message,
and the rule held against librdkafka's Java-compatible partitioner on a real broker (tansu),
so a producer outside Python can follow it."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from kwont_common.kafka.partitioning import (
    account_of,
    account_partition,
    count_mismatch,
    key_partition,
)
from kwont_common.topics import TOPICS, copartitioned_names
from tests.libs.common.kafka_helpers import create, settings_for

ACCOUNTS = [f"acct-{i}" for i in range(40)]


@pytest.mark.unit
def test_the_account_is_the_key_up_to_its_first_colon() -> None:
    assert account_of(b"acct-1:BTCUSDT") == b"acct-1"
    assert account_of(b"acct-1") == b"acct-1"  # portfolio-snapshots: the bare account


@pytest.mark.unit
def test_every_key_of_one_account_gets_the_account_partition() -> None:
    for account in ACCOUNTS:
        p = account_partition(account, 6)
        assert 0 <= p < 6
        assert account_partition(account.encode(), 6) == p
        for key in (f"{account}:BTCUSDT", f"{account}:ETHUSDT", account):
            assert key_partition(key.encode(), 6) == p
    # the rule spreads accounts: 40 accounts over 6 partitions use every one
    assert {account_partition(a, 6) for a in ACCOUNTS} == set(range(6))


@pytest.mark.unit
def test_a_partition_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        account_partition("acct-1", 0)


@pytest.mark.unit
def test_the_account_topics_are_the_copartitioned_ones() -> None:
    assert copartitioned_names("p.") == [
        "p.signals", "p.orders", "p.fills", "p.funding-payments", "p.order-updates",
        "p.risk-rejections", "p.portfolio-snapshots",
    ]  # fmt: skip
    assert all(t.key_rule.split(":")[0] == "account" for t in TOPICS.values() if t.copartitioned)


@pytest.mark.unit
def test_one_count_is_fine_and_differing_counts_are_named_with_the_fix() -> None:
    assert count_mismatch({}) is None
    assert count_mismatch({"p.signals": 3, "p.fills": 3}) is None
    problem = count_mismatch({"p.signals": 3, "p.fills": 2, "p.orders": 3})
    assert problem is not None
    assert "p.fills has 2, p.orders has 3, p.signals has 3" in problem
    assert "kwont-topics create" in problem
    assert "KWONT_TOPIC_PARTITIONS=3" in problem


@pytest.mark.integration
async def test_librdkafka_keyed_by_the_account_picks_the_same_partition(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "fills", partitions=7)
    topic = f"{settings.topic_prefix}fills"
    got: dict[str, int] = {}

    def delivered(err: object, msg: object) -> None:
        assert err is None, err
        got[msg.key().decode()] = msg.partition()  # type: ignore[attr-defined]

    # murmur2_random is librdkafka's name for the Java client's default partitioner
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": "murmur2_random"})
    for account in ACCOUNTS:
        producer.produce(topic, key=account.encode(), value=b"{}", on_delivery=delivered)
    assert producer.flush(30) == 0
    assert got == {a: account_partition(a, 7) for a in ACCOUNTS}
