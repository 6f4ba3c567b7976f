"""An account's equity curve inside its portfolio document, as ``$set`` fields (pure).

``equity_curve`` is ``{"time": bytes, "value": bytes}``: two little-endian float64 columns
in time order, the packed form the gateway already decodes for backtest results (its
``curve_of`` takes it as is). Packed, because SecantusDB reads and rewrites whole documents:
a 20,000-point curve as an array of ``[t, v]`` pairs made every booking of a fill cost
about 600 ms, packed it costs about 4 ms (measured here). Equity is a float: the curve is
for charts and performance figures; the books stay Decimal.

The curve keeps the newest ``max_points`` points (older ones are dropped). The last point
always shows the latest equity: an update at the time of the last point (or within
``step_ms`` of when that point was opened) rewrites it, carrying its time forward; a later
update opens a new point. Times are the account's "as of" time (the newest event time it
has seen), so they never go back. ``curve_open`` is when the last point was opened.
"""

from __future__ import annotations

import sys
from array import array
from decimal import Decimal
from typing import Any


def _column(raw: Any) -> array[float]:
    column = array("d", bytes(raw or b""))
    if sys.byteorder == "big":
        column.byteswap()
    return column


def _packed(column: array[float]) -> bytes:
    if sys.byteorder == "big":
        column = array("d", column)
        column.byteswap()
    return column.tobytes()


def unpack(doc: dict[str, Any]) -> tuple[array[float], array[float]]:
    """``(times, values)`` of the document's curve (empty when it has none)."""
    raw = doc.get("equity_curve") or {}
    times, values = _column(raw.get("time")), _column(raw.get("value"))
    n = min(len(times), len(values))
    return times[:n], values[:n]


def curve_fields(
    doc: dict[str, Any], as_of: int, equity: Decimal, max_points: int, step_ms: int = 0
) -> dict[str, Any]:
    """The ``$set`` fields that put ``equity`` at ``as_of`` on the curve of ``doc``."""
    times, values = unpack(doc)
    opened = int(doc.get("curve_open") or 0)
    if times and (as_of <= times[-1] or as_of < opened + step_ms):
        times[-1] = max(float(as_of), times[-1])
        values[-1] = float(equity)
    else:
        times.append(float(as_of))
        values.append(float(equity))
        opened = as_of
    del times[:-max_points], values[:-max_points]
    curve = {"time": _packed(times), "value": _packed(values)}
    return {"equity_curve": curve, "curve_open": opened}
