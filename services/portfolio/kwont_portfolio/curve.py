"""An account's equity curve inside its portfolio document, as ``$set`` fields (pure).

``equity_curve`` is a ring of at most ``max_points`` ``[time_ms, equity]`` pairs (equity a
float: the curve is for charts and performance figures; the books stay Decimal). The ring
is written with ``$set`` on one slot, so a point lands in the same write as the fill or
mark that moved the equity (BookStore's ``extra`` can only ``$set``) and the write stays
small however long the curve is. Once full, the oldest point is overwritten: the curve
keeps the last ``max_points`` points. Readers sort by time (the gateway's ``curve_of``
does).

The last point always shows the latest equity: an update at the same time as the last
point (or within ``step_ms`` of when that point was opened) rewrites it, carrying the
point's time forward; a later update opens a new point. Times are the account's "as of"
time (the newest event time it has seen), so they only grow. Bookkeeping fields:
``curve_n`` (points ever opened), ``curve_time`` (time of the last point) and
``curve_open`` (the time the last point was opened).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def curve_fields(
    doc: dict[str, Any], as_of: int, equity: Decimal, max_points: int, step_ms: int = 0
) -> dict[str, Any]:
    """The ``$set`` fields that put ``equity`` at ``as_of`` on the curve of ``doc``."""
    n = int(doc.get("curve_n") or 0)
    last = int(doc.get("curve_time") or 0)
    opened = int(doc.get("curve_open") or 0)
    value = float(equity)
    if n == 0:
        return {"equity_curve": [[as_of, value]], "curve_n": 1, "curve_time": as_of,
                "curve_open": as_of}  # fmt: skip
    if as_of <= last or as_of < opened + step_ms:
        at = max(as_of, last)
        return {f"equity_curve.{(n - 1) % max_points}": [at, value], "curve_time": at}
    return {f"equity_curve.{n % max_points}": [as_of, value], "curve_n": n + 1,
            "curve_time": as_of, "curve_open": as_of}  # fmt: skip
