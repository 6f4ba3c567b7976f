"""Which inputs of one topic partition a snapshot may claim.

A partition's state changes when an input is applied (``apply``), before its outputs are
acknowledged; the input counts as done once they are (``mark``). Handlers of different keys
finish out of order, so the next offset a snapshot may store is the first one not marked,
counting up from where the state started (the loaded snapshot's offset, or 0 for a state
that reflects no input). A snapshot of the partition is only consistent while every applied
input is marked and nothing above that point is marked yet (``settled``): otherwise the
state holds the effect of an input the stored offset would replay.
"""

from __future__ import annotations


class InputOffsets:
    """Applied and marked offsets of one topic partition since the state was loaded."""

    __slots__ = ("above", "next", "pending")

    def __init__(self, start: int) -> None:
        self.next = start
        """The first offset not yet marked: everything before it is reflected."""
        self.pending: set[int] = set()
        """Applied, outputs not acknowledged yet."""
        self.above: set[int] = set()
        """Marked, but some offset before it is not."""

    def applied(self, offset: int) -> None:
        """The input at ``offset`` was applied: pending until marked (ignored below ``next``)."""
        if offset >= self.next:
            self.pending.add(offset)

    def marked(self, offset: int) -> None:
        """Offsets before ``next`` (a replay of what the state already reflects) are ignored."""
        self.pending.discard(offset)
        if offset < self.next:
            return
        self.above.add(offset)
        while self.next in self.above:
            self.above.remove(self.next)
            self.next += 1

    @property
    def settled(self) -> bool:
        """Whether a snapshot now is consistent: all applied inputs marked, no gap below a mark."""
        return not self.pending and not self.above
