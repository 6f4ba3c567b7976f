"""Funding-rate history of perpetual futures, one document per (symbol, UTC year).

Packed like the candles (packing.py): little-endian float64 columns as binary. Funding
times are rounded to the minute (Binance's ``fundingTime`` carries a few ms of jitter, e.g.
``1704096000008``), so a re-load from another source replaces a row instead of doubling it.
A rate is a fraction per funding interval (``0.0001`` = 0.01 %); a long position pays
``rate x notional`` when it is positive. ``mark_price`` is NaN where the source has none
(Binance's public CSV, old API rows). No I/O here; marketdata writes these documents and the
sandbox reads them, each with its own driver.

Document shape (collection ``funding`` of database ``ohlcv``)::

    {_id: "BTCUSDT:1704067200000", symbol, period_start, period_end, count, first_time,
     last_time, feed, columns: {funding_time, rate, mark_price: <bytes>}}

with a unique index on (symbol, period_start).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from kwont_ohlcv import packing
from kwont_ohlcv.packing import Columns

COLLECTION = "funding"
COLUMNS = ("funding_time", "rate", "mark_price")
INDEX_KEYS = [("symbol", 1), ("period_start", 1)]
INDEX_NAME = "symbol_period"
MINUTE_MS = 60_000
KEY = "funding_time"


def round_to_minute(times_ms: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Epoch-ms times rounded to the nearest whole minute (half a minute rounds up)."""
    t = np.asarray(times_ms, dtype=np.int64)
    return ((t + MINUTE_MS // 2) // MINUTE_MS) * MINUTE_MS


def year_bounds(time_ms: int) -> tuple[int, int]:
    """``[start, end)`` in epoch ms of the UTC year holding ``time_ms``."""
    year = dt.datetime.fromtimestamp(time_ms / 1000, dt.UTC).year
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def columns(
    times_ms: npt.ArrayLike, rates: npt.ArrayLike, mark_prices: npt.ArrayLike | None = None
) -> Columns:
    """Store columns of funding rows in any order: times rounded to the minute, sorted.

    Raises:
        ValueError: lengths differ, a rate is not finite, or two rows fall on one minute.
    """
    t = round_to_minute(times_ms)
    r = np.asarray(rates, dtype=np.float64)
    m = np.full(len(t), np.nan) if mark_prices is None else np.asarray(mark_prices, np.float64)
    if not len(t) == len(r) == len(m):
        raise ValueError("funding times, rates and mark prices differ in length")
    if not bool(np.all(np.isfinite(r))):
        raise ValueError(f"funding rate not a finite number at {int(t[~np.isfinite(r)][0])}")
    order = np.argsort(t, kind="stable")
    out = {KEY: t[order].astype(np.float64), "rate": r[order], "mark_price": m[order]}
    same = np.flatnonzero(np.diff(out[KEY]) == 0)
    if len(same):
        raise ValueError(f"two funding rows at {int(out[KEY][same[0]])} (after rounding)")
    return out


def pack(symbol: str, cols: Columns, feed: str = "binance-futures") -> dict[str, Any]:
    """The document for funding rows that all fall in one UTC year.

    Raises:
        ValueError: columns missing or of unequal length, empty, unsorted, or spanning years.
    """
    n = packing.check(cols, COLUMNS)
    if n == 0:
        raise ValueError("no funding rows to pack")
    packing.check_increasing(cols, KEY)
    times = cols[KEY]
    start, end = year_bounds(int(times[0]))
    if times[-1] >= end:
        raise ValueError("funding rows span more than one year; use split_by_year")
    return {
        "_id": doc_id(symbol, start),
        "symbol": symbol,
        "period_start": start,
        "period_end": end,
        "count": n,
        "first_time": int(times[0]),
        "last_time": int(times[-1]),
        "feed": feed,
        "columns": packing.pack_columns(cols, COLUMNS),
    }


def doc_id(symbol: str, period_start: int) -> str:
    """``_id`` of a symbol's funding document for the year starting at ``period_start``."""
    return f"{symbol}:{period_start}"


def unpack(doc: dict[str, Any]) -> Columns:
    """Columns of a funding document (copies, writable)."""
    return packing.unpack_columns(doc["columns"], COLUMNS)


def merge(old: Columns, new: Columns) -> Columns:
    """Union by funding time; a row of ``new`` replaces the one of ``old`` at that time."""
    return packing.merge_columns(old, new, KEY, COLUMNS)


def split_by_year(cols: Columns) -> Iterator[tuple[int, Columns]]:
    """``(year_start, columns)`` for each UTC year the (sorted) rows touch."""
    return packing.split_columns(cols, KEY, COLUMNS, year_bounds)


def range_filter(symbol: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    """Mongo filter for the funding documents overlapping ``[start_ms, end_ms)``."""
    return {"symbol": symbol, "period_start": {"$lt": end_ms}, "period_end": {"$gt": start_ms}}


def concat(docs: Sequence[dict[str, Any]], start_ms: int, end_ms: int) -> Columns:
    """Columns of ``docs`` (any order) clipped to funding times in ``[start_ms, end_ms)``."""
    parts = [unpack(d) for d in sorted(docs, key=lambda d: int(d["period_start"]))]
    return packing.concat_columns(parts, KEY, COLUMNS, start_ms, end_ms)


def times_and_rates(
    cols: Columns,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``(funding times as int64 epoch ms, rates as float64)`` of funding columns."""
    return cols[KEY].astype(np.int64), np.array(cols["rate"], dtype=np.float64)
