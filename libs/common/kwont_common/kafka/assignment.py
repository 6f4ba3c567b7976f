"""One owner per partition number: the group assignment of the account-topic consumers.

Records of one account share one partition number on every co-partitioned topic (see
:mod:`kwont_common.kafka.partitioning`), so a member owns an account's inputs when it gets
the same partition numbers on every topic it reads. aiokafka's default round-robin
assignment deals the partitions of all topics out in turn and does not; this assignor deals
out partition *numbers* and gives number ``p`` of every subscribed topic to its owner.

Sticky: each member sends the numbers it owns in its join metadata, and keeps them as far as
the even split allows (``n // members`` or one more each), so a rebalance moves only the
numbers that must move (those of a member that left, or the share of one that joined).
The split and the choice of who gives up a number are deterministic in the member ids.

A topic partition whose number's owner does not read that topic (members of one group
subscribed to different topics, e.g. during a rolling upgrade) goes to a member that does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

log = logging.getLogger(__name__)


def split_numbers(numbers: int, owned: Mapping[str, Iterable[int]]) -> dict[str, list[int]]:
    """Partition numbers ``0..numbers-1`` over the members (keys of ``owned``): each keeps
    the numbers it ``owned`` up to its share, the rest go to whoever is short of theirs.

    Shares: ``numbers // members``, one more for the first ``numbers % members`` members
    in order of most numbers kept, then member id. A number two members claim stays with
    the first of them in that order.
    """
    members = sorted(owned)
    if not members:
        return {}
    previous = {m: sorted({p for p in owned[m] if 0 <= p < numbers}) for m in members}
    base, extra = divmod(numbers, len(members))
    order = sorted(members, key=lambda m: (-len(previous[m]), m))
    share = {m: base + (1 if i < extra else 0) for i, m in enumerate(order)}
    result: dict[str, list[int]] = {m: [] for m in members}
    taken: set[int] = set()
    for m in order:
        for p in previous[m]:
            if len(result[m]) < share[m] and p not in taken:
                result[m].append(p)
                taken.add(p)
    free = (p for p in range(numbers) if p not in taken)
    for m in members:
        while len(result[m]) < share[m]:
            result[m].append(next(free))
    return {m: sorted(ps) for m, ps in result.items()}


class CopartitionedAssignor(AbstractPartitionAssignor):  # type: ignore[misc]
    """Partition number ``p`` of every subscribed topic to one member, sticky across
    rebalances. One instance per consumer: it remembers that member's numbers (aiokafka
    calls ``metadata`` and ``on_assignment`` on the object it was given)."""

    name = "kwont-copartitioned"
    version = 0

    def __init__(self) -> None:
        self.numbers: list[int] = []

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        """This member's subscription, with the partition numbers it owns now as user data."""
        owned = json.dumps({"numbers": self.numbers}).encode()
        return ConsumerProtocolMemberMetadata(self.version, sorted(topics), owned)

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        """Remember the partition numbers this member was given, across all its topics."""
        self.numbers = sorted({p for _, ps in assignment.assignment for p in ps})

    def assign(
        self, cluster: ClusterMetadata, members: Mapping[str, ConsumerProtocolMemberMetadata]
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        """Give each member the same partition numbers of every topic it reads (see
        :func:`split_numbers`); a topic only some members read goes to its readers, round
        robin where the number's owner does not read it."""
        counts: dict[str, int] = {}
        for meta in members.values():
            for name in meta.subscription:
                found = cluster.partitions_for_topic(name)
                if found is None:
                    log.warning("no partition metadata for topic %s", name)
                    continue
                counts[name] = len(found)
        numbers = max(counts.values(), default=0)
        split = split_numbers(numbers, {m: _owned(meta) for m, meta in members.items()})
        owner = {p: m for m, ps in split.items() for p in ps}
        plan: dict[str, dict[str, list[int]]] = {m: {} for m in members}
        for name, count in sorted(counts.items()):
            readers = sorted(m for m, meta in members.items() if name in meta.subscription)
            for p in range(count):
                member = owner[p] if owner[p] in readers else readers[p % len(readers)]
                plan[member].setdefault(name, []).append(p)
        return {
            m: ConsumerProtocolMemberAssignment(self.version, sorted(topics.items()), b"")
            for m, topics in plan.items()
        }


def _owned(meta: ConsumerProtocolMemberMetadata) -> list[int]:
    """The numbers a member said it owns; none when its metadata is not ours."""
    try:
        numbers = json.loads(meta.user_data or b"{}").get("numbers", [])
        return [int(p) for p in numbers]
    except (ValueError, TypeError, AttributeError):
        return []
