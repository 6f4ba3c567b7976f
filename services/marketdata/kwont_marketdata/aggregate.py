"""Trades into candles with tumbling windows: pure functions, no I/O.

A window ``[open, next_open)`` closes when a trade of a later window arrives (or, if asked,
when the wall clock has passed its end). Windows without trades between two closed ones
become flat candles at the previous close with zero volume, as Binance's klines do. A trade
older than the open window is late and dropped (Kafka keeps one symbol's trades in order,
so this only happens to trades the exchange itself sent late).

``CandleBuilder`` is the incremental form the ``ticks`` consumer runs; ``aggregate`` is the
vectorised form over whole arrays (tests and the bench check one against the other).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

import kwont_ohlcv as ohlcv

_DAY = 86_400_000
_WEEK_SHIFT = 4 * _DAY  # 1970-01-01 was a Thursday; Binance weeks open on Monday 00:00 UTC
MAX_FILL = 10_000  # at most this many empty windows are filled in one gap


def window_open(interval: str, t_ms: int) -> int:
    """Open time of the ``interval`` window holding ``t_ms`` (Binance alignment).

    Raises:
        KeyError: unknown interval.
    """
    if interval == "1M":
        d = dt.datetime.fromtimestamp(t_ms / 1000, dt.UTC)
        return int(dt.datetime(d.year, d.month, 1, tzinfo=dt.UTC).timestamp() * 1000)
    step = ohlcv.INTERVAL_MS[interval]
    shift = _WEEK_SHIFT if interval == "1w" else 0
    return (t_ms - shift) // step * step + shift


def next_open(interval: str, open_ms: int) -> int:
    """Open time of the window after the one opening at ``open_ms``."""
    if interval != "1M":
        return open_ms + ohlcv.INTERVAL_MS[interval]
    return window_open("1M", open_ms + 32 * _DAY)


class Bar(NamedTuple):
    """A closed candle built from trades (close time is ``next_open - 1``, as Binance)."""

    symbol: str
    interval: str
    open_time: int
    close_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int


class _Window:
    __slots__ = ("end", "first_offset", "high", "low", "n", "open", "price", "qv", "start", "vol")

    def __init__(self, start: int, end: int, price: float, qty: float, offset: int) -> None:
        self.start, self.end, self.first_offset = start, end, offset
        self.open = self.high = self.low = self.price = price
        self.vol, self.qv, self.n = qty, price * qty, 1


@dataclass
class CandleBuilder:
    """Open windows per (symbol, interval); feed it trades in arrival order."""

    intervals: tuple[str, ...]
    late: int = 0  # trades dropped because their window had already closed
    _open: dict[tuple[str, str], _Window] = field(default_factory=dict)
    # Last closed window per (symbol, interval): (open_time, close price).
    _last: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for interval in self.intervals:
            window_open(interval, 0)  # KeyError for an unknown interval

    def resume(self, symbol: str, interval: str, open_time: int, close: float) -> None:
        """Say that the window at ``open_time`` was already emitted (e.g. stored before a
        restart): its trades are ignored and empty windows after it are filled from ``close``."""
        self._last[(symbol, interval)] = (open_time, close)

    def add(self, symbol: str, t_ms: int, price: float, qty: float, offset: int = -1) -> list[Bar]:
        """Take one trade; return the windows it closed (oldest first, fillers included).

        ``offset`` is the trade's position in its source (the Kafka offset), remembered per
        open window so a consumer knows from where to replay its open windows.
        """
        out: list[Bar] = []
        for interval in self.intervals:
            key = (symbol, interval)
            w = self._open.get(key)
            if w is not None and w.start <= t_ms < w.end:
                if price > w.high:
                    w.high = price
                elif price < w.low:
                    w.low = price
                w.price = price
                w.vol += qty
                w.qv += price * qty
                w.n += 1
                continue
            if w is not None and t_ms < w.start:
                self.late += 1
                continue
            start = window_open(interval, t_ms)
            last = self._last.get(key)
            if last is not None and start <= last[0]:
                continue  # emitted before (a replay after restart)
            if w is not None:
                out.append(self._close(key, w))
                last = self._last[key]
            if last is not None:
                out += self._fill(key, last, start)
            self._open[key] = _Window(start, next_open(interval, start), price, qty, offset)
        return out

    def close_due(self, now_ms: int) -> list[Bar]:
        """Close every open window that ended at or before ``now_ms`` (wall-clock flush)."""
        due = [(k, w) for k, w in self._open.items() if w.end <= now_ms]
        return [self._close(k, w) for k, w in sorted(due, key=lambda kw: (kw[1].start, kw[0]))]

    def oldest_offset(self, symbol: str) -> int | None:
        """Offset of the first trade of ``symbol``'s oldest open window, if any is open."""
        offsets = [
            w.first_offset for i in self.intervals if (w := self._open.get((symbol, i))) is not None
        ]
        return min(offsets) if offsets else None

    def forget(self, symbol: str) -> None:
        """Drop all state of ``symbol`` (its partition went to another consumer)."""
        for interval in self.intervals:
            self._open.pop((symbol, interval), None)
            self._last.pop((symbol, interval), None)

    def _close(self, key: tuple[str, str], w: _Window) -> Bar:
        del self._open[key]
        self._last[key] = (w.start, w.price)
        return Bar(key[0], key[1], w.start, w.end - 1, w.open, w.high, w.low, w.price,
                   w.vol, w.qv, w.n)  # fmt: skip

    def _fill(self, key: tuple[str, str], last: tuple[int, float], until: int) -> list[Bar]:
        symbol, interval = key
        out: list[Bar] = []
        t, close = next_open(interval, last[0]), last[1]
        while t < until and len(out) < MAX_FILL:
            after = next_open(interval, t)
            out.append(Bar(symbol, interval, t, after - 1, close, close, close, close, 0.0, 0.0, 0))
            t = after
        if out:
            self._last[key] = (out[-1].open_time, close)
        return out


def aggregate(
    interval: str, times: np.ndarray[Any, Any], prices: np.ndarray[Any, Any],
    quantities: np.ndarray[Any, Any],
) -> ohlcv.Columns:  # fmt: skip
    """Candle columns of one symbol's trades (sorted by time), every window that has trades,
    the last one included even if still open; empty windows are left out.

    Raises:
        ValueError: times not sorted, or arrays of unequal length.
    """
    times = np.asarray(times, dtype=np.int64)
    if not len(times) == len(prices) == len(quantities):
        raise ValueError("times, prices and quantities differ in length")
    if len(times) > 1 and bool(np.any(np.diff(times) < 0)):
        raise ValueError("trade times must be sorted")
    if not len(times):
        return {c: np.empty(0, dtype=np.float64) for c in ohlcv.COLUMNS}
    if interval == "1M":
        starts = np.array([window_open("1M", int(t)) for t in times], dtype=np.int64)
    else:
        step = ohlcv.INTERVAL_MS[interval]
        shift = _WEEK_SHIFT if interval == "1w" else 0
        starts = (times - shift) // step * step + shift
    first = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]])
    last = np.r_[first[1:] - 1, len(times) - 1]
    p = np.asarray(prices, dtype=np.float64)
    q = np.asarray(quantities, dtype=np.float64)
    return {
        "open_time": starts[first].astype(np.float64),
        "open": p[first],
        "high": np.maximum.reduceat(p, first),
        "low": np.minimum.reduceat(p, first),
        "close": p[last],
        "volume": np.add.reduceat(q, first),
        "quote_volume": np.add.reduceat(p * q, first),
        "trades": np.diff(np.r_[first, len(times)]).astype(np.float64),
    }
