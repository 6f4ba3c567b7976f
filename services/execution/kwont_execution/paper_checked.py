"""The paper venue's checked-through marks in memory.

A candle that fires nothing only advances the position's ``checked_through`` in memory
(:class:`Checked`), written to Mongo every ``flush_s`` by
:meth:`kwont_execution.paper_stops.PaperStops.flush_checks` without a version change (so it
never fails another writer's compare-and-set). A write per candle and position cost a third
of the candle path's database work. After a crash the stored mark is at most ``flush_s``
old: the next candle checks the candles since then again from the store, with the same
outcome (nothing fired on them; a firing candle is committed at once).
"""

from __future__ import annotations

from dataclasses import replace

from kwont_execution.store import Slot


class Checked:
    """Per position document, the newest candle checked without effect since the version
    read: ``{slot key: (version, open time)}``."""

    def __init__(self, flush_s: float = 1.0) -> None:
        self.flush_s = flush_s
        self._marks: dict[str, tuple[int, int]] = {}
        self._dirty: set[str] = set()

    def see(self, slot: Slot, open_time: int) -> None:
        known = self._marks.get(slot.key)
        if known is None or known[0] != slot.version or known[1] < open_time:
            self._marks[slot.key] = (slot.version, open_time)
            self._dirty.add(slot.key)

    def apply(self, slot: Slot) -> Slot:
        """``slot`` with its position's ``checked_through`` from memory when it is newer
        and was seen at the same version (another version: a different position state)."""
        known = self._marks.get(slot.key)
        position = slot.position
        if known is None or position is None or known[0] != slot.version:
            return slot
        if known[1] <= position.checked_through:
            return slot
        return Slot(slot.key, slot.version, replace(position, checked_through=known[1]),
                    slot.applied)  # fmt: skip

    def take(self) -> dict[str, tuple[int, int]]:
        """The marks changed since the last call."""
        dirty, self._dirty = self._dirty, set()
        return {k: self._marks[k] for k in dirty if k in self._marks}
