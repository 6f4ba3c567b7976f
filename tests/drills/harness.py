"""What a drill records and prints, and the small waiting helpers the drills share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class DrillRecord:
    """One drill's outcome: how long until healthy again, and the final-state counts."""

    name: str
    fault: str
    to_healthy_s: float | None = None
    to_done_s: float | None = None
    lost: int = 0
    duplicates: int = 0
    mismatched: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicates == 0 and self.mismatched == 0


RECORDS: list[DrillRecord] = []


def record(rec: DrillRecord) -> DrillRecord:
    """Keep ``rec`` for the session's table (and print it at once, for ``-s`` runs)."""
    RECORDS.append(rec)
    print("\n" + "\n".join(table([rec])))
    return rec


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def table(records: list[DrillRecord]) -> list[str]:
    """Rows of the drill table (figures are wall clock on whatever machine ran them)."""
    rows = ["drill                      fault                               healthy  done    "
            "lost dup mismatch  notes"]  # fmt: skip
    for r in records:
        rows.append(
            f"{r.name:<26} {r.fault:<35} {_s(r.to_healthy_s):>7} {_s(r.to_done_s):>7} "
            f"{r.lost:>4} {r.duplicates:>3} {r.mismatched:>8}  {'; '.join(r.notes)}"
        )
    return rows


async def until(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, poll: float = 0.2
) -> float:
    """Poll ``check`` until True; the seconds it took. Raises AssertionError on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(poll)
    raise AssertionError(f"{what}: not within {timeout:g}s")
