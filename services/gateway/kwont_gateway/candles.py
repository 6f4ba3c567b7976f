"""Stored candles of a symbol for charts: read from the market database, merged into fewer
bars when a range holds more than a chart can show."""

from __future__ import annotations

import math

import numpy as np

import kwont_ohlcv as ohlcv
from kwont_gateway.errors import invalid
from kwont_gateway.state import Gateway

MAX_SPAN_CANDLES = 1_100_000
"""Longest range read at once, in candles of the interval (two years of 1m): about 70 MB of
columns from Mongo, which is all one request should cost."""


async def between(
    gw: Gateway, symbol: str, interval: str, start_ms: int, end_ms: int
) -> ohlcv.Columns:
    """Candles opening in ``[start_ms, end_ms)``, sorted (none when nothing is stored).

    Raises:
        ApiError: 422 when the range is empty or longer than ``MAX_SPAN_CANDLES`` candles.
    """
    if end_ms <= start_ms:
        raise invalid("end must be after start", "end")
    if (end_ms - start_ms) / ohlcv.INTERVAL_MS[interval] > MAX_SPAN_CANDLES:
        raise invalid(
            f"range holds more than {MAX_SPAN_CANDLES} {interval} candles; "
            "ask for a shorter range or a longer interval",
            "start",
        )
    flt = ohlcv.range_filter(symbol.upper(), interval, start_ms, end_ms)
    docs = await gw.market.candles.find(flt).to_list(None)
    return ohlcv.concat(docs, start_ms, end_ms)


def merged(cols: ohlcv.Columns, max_points: int) -> tuple[list[list[float]], int]:
    """``([[open_time, open, high, low, close, volume], ...], k)``: every ``k`` consecutive
    candles merged into one bar (first open, highest high, lowest low, last close, summed
    volume), with the smallest ``k`` that leaves at most ``max_points`` bars."""
    n = len(cols["open_time"])
    if n == 0:
        return [], 1
    k = max(1, math.ceil(n / max_points))
    starts = np.arange(0, n, k)
    last = np.minimum(starts + k - 1, n - 1)
    table = np.column_stack(
        [
            cols["open_time"][starts],
            cols["open"][starts],
            np.maximum.reduceat(cols["high"], starts),
            np.minimum.reduceat(cols["low"], starts),
            cols["close"][last],
            np.add.reduceat(cols["volume"], starts),
        ]
    )
    return table.tolist(), k
