"""Co-partitioning: one account's records share one partition number on every account topic.

The rule (docs/architecture.md, "Partitioning"): on a co-partitioned topic (the registry's
``Topic.copartitioned``) a record goes to partition ``toPositive(murmur2(account)) % count``,
where ``account`` is the UTF-8 bytes of the key up to its first ``:`` (the whole key when it
has none: ``portfolio-snapshots`` are keyed by the bare account) and ``count`` the topic's
partition count. That is Kafka's default partitioner (the Java client's, librdkafka's
``murmur2_random``) applied to the account instead of the whole key, so a producer in any
language can follow it; the record key itself stays as it is. When every co-partitioned
topic has the same count, one account's signals, orders, fills, order updates and snapshots
share one partition number, and one consumer group assignment over them can hand one
replica all of an account's inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka.partitioner import murmur2


def account_of(key: bytes) -> bytes:
    """The account part of an account topic's key: up to the first ``:`` (accounts never
    contain one), or the whole key (``portfolio-snapshots``)."""
    return key.split(b":", 1)[0]


def account_partition(account: str | bytes, partitions: int) -> int:
    """The partition of ``account`` on a co-partitioned topic of ``partitions`` partitions.

    Raises:
        ValueError: ``partitions`` is not positive.
    """
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    data = account.encode() if isinstance(account, str) else account
    return int(murmur2(data) & 0x7FFFFFFF) % partitions


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of a record keyed ``key`` on a co-partitioned topic (by its account)."""
    return account_partition(account_of(key), partitions)


def count_mismatch(counts: Mapping[str, int]) -> str | None:
    """What is wrong when the co-partitioned topics (full name -> partition count) do not all
    have one count, with how to fix it; ``None`` when they agree."""
    if len(set(counts.values())) <= 1:
        return None
    listed = ", ".join(f"{name} has {n}" for name, n in sorted(counts.items()))
    most = max(counts.values())
    return (
        f"co-partitioned topics differ in partition count ({listed}): one account's records "
        "would land on different partition numbers, so no replica would own all of an "
        "account's inputs. Give them one count: delete the topics that differ and run "
        f"`kwont-topics create` with KWONT_TOPIC_PARTITIONS={most} (or add partitions to "
        f"reach {most}; either way accounts move to new partitions)"
    )
