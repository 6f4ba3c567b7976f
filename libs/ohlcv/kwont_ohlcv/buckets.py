"""Packing candles into period buckets and back (the column packing is packing.py's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from kwont_ohlcv import packing
from kwont_ohlcv.packing import Columns

COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades")
INDEX_KEYS = [("symbol", 1), ("interval", 1), ("period_start", 1)]
INDEX_NAME = "symbol_interval_period"  # one name everywhere: Mongo refuses a second name

_MIN = 60_000
INTERVAL_MS: dict[str, int] = {
    "1m": _MIN, "3m": 3 * _MIN, "5m": 5 * _MIN, "15m": 15 * _MIN, "30m": 30 * _MIN,
    "1h": 60 * _MIN, "2h": 120 * _MIN, "4h": 240 * _MIN, "6h": 360 * _MIN, "8h": 480 * _MIN,
    "12h": 720 * _MIN, "1d": 1440 * _MIN, "3d": 3 * 1440 * _MIN, "1w": 7 * 1440 * _MIN,
    "1M": 30 * 1440 * _MIN,
}  # fmt: skip
_DAY_MS = 86_400_000


def period_bounds(interval: str, open_time_ms: int) -> tuple[int, int]:
    """``[start, end)`` in epoch ms of the bucket holding a candle opening at ``open_time_ms``.

    Raises:
        ValueError: for an unknown interval.
    """
    if interval not in INTERVAL_MS:
        raise ValueError(f"unknown interval {interval!r}; known: {', '.join(INTERVAL_MS)}")
    if INTERVAL_MS[interval] < _DAY_MS:
        start = open_time_ms - open_time_ms % _DAY_MS
        return start, start + _DAY_MS
    year = dt.datetime.fromtimestamp(open_time_ms / 1000, dt.UTC).year
    start_dt = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end_dt = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    return int(start_dt.timestamp() * 1000), int(end_dt.timestamp() * 1000)


def pack(symbol: str, interval: str, columns: Columns, feed: str = "binance") -> dict[str, Any]:
    """The bucket document for candles that all fall in one period.

    Raises:
        ValueError: columns missing or of unequal length, empty, unsorted, or spanning periods.
    """
    n = packing.check(columns, COLUMNS)
    if n == 0:
        raise ValueError("no candles to pack")
    packing.check_increasing(columns, "open_time")
    times = columns["open_time"]
    start, end = period_bounds(interval, int(times[0]))
    if times[-1] >= end:
        raise ValueError("candles span more than one period; use split_by_period")
    return {
        "_id": f"{symbol}:{interval}:{start}",
        "symbol": symbol,
        "interval": interval,
        "period_start": start,
        "period_end": end,
        "count": n,
        "first_open_time": int(times[0]),
        "last_open_time": int(times[-1]),
        "feed": feed,
        "columns": packing.pack_columns(columns, COLUMNS),
    }


def unpack(doc: dict[str, Any]) -> Columns:
    """Columns of a bucket document (copies, writable)."""
    return packing.unpack_columns(doc["columns"], COLUMNS)


def merge(old: Columns, new: Columns) -> Columns:
    """Union of two column sets by ``open_time``; a candle in ``new`` replaces the same one in
    ``old``. Idempotent: merging the same candles again changes nothing."""
    return packing.merge_columns(old, new, "open_time", COLUMNS)


def split_by_period(interval: str, columns: Columns) -> Iterator[tuple[int, Columns]]:
    """``(period_start, columns)`` for each period the (sorted) candles touch."""
    return packing.split_columns(
        columns, "open_time", COLUMNS, lambda t: period_bounds(interval, t)
    )


def range_filter(symbol: str, interval: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    """Mongo filter for the buckets overlapping ``[start_ms, end_ms)``."""
    return {
        "symbol": symbol,
        "interval": interval,
        "period_start": {"$lt": end_ms},
        "period_end": {"$gt": start_ms},
    }


def concat(docs: Sequence[dict[str, Any]], start_ms: int, end_ms: int) -> Columns:
    """Columns of ``docs`` (any order) clipped to open times in ``[start_ms, end_ms)``."""
    parts = [unpack(d) for d in sorted(docs, key=lambda d: int(d["period_start"]))]
    return packing.concat_columns(parts, "open_time", COLUMNS, start_ms, end_ms)
