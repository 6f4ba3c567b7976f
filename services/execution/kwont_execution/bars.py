"""Closed candles as the paper stops need them: the recent ones in memory per symbol and
interval (as this replica read them from ``candles``), older ones from the market-data
store (marketdata stores a candle before it publishes it).
"""

from __future__ import annotations

import json
from collections import OrderedDict

import kwont_ohlcv as ohlcv
from kwont_common.mongo import Database
from kwont_execution.paper_position import Bar

STORED_CANDLES = "candles"
"""Collection of candle buckets in the market-data database (kwont_marketdata.store)."""
KEEP = 512
"""Candles kept in memory per symbol and interval."""


def read_candle(value: bytes | None) -> tuple[str, str, Bar] | None:
    """``(symbol, interval, bar)`` of a ``candles`` message, or None when it is not one.
    Only the fields the stops need are read (a full model parse per candle costs CPU on
    every replica, which reads every candle)."""
    try:
        doc = json.loads(value or b"")
        symbol, interval = doc["symbol"], doc["interval"]
        t, close_time = doc["open_time"], doc["close_time"]
        o, h, lo = float(doc["open"]), float(doc["high"]), float(doc["low"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(symbol, str) or interval not in ohlcv.INTERVAL_MS:
        return None
    if not isinstance(t, int) or not isinstance(close_time, int) or not min(o, h, lo) > 0:
        return None
    return symbol, interval, Bar(t, close_time, o, h, lo)


class Bars:
    """The newest candles read, per ``(symbol, interval)``, and the newest open time."""

    def __init__(self, market_db: Database, keep: int = KEEP) -> None:
        self.market_db = market_db
        self.keep = keep
        self._bars: dict[tuple[str, str], OrderedDict[int, Bar]] = {}
        self.reads = 0
        """Reads of stored candles so far (the in-memory ones did not cover a range)."""

    def see(self, symbol: str, interval: str, bar: Bar) -> None:
        """Remember ``bar`` (over one with its open time); past ``keep``, drop the earliest kept."""
        ring = self._bars.setdefault((symbol, interval), OrderedDict())
        ring[bar.open_time] = bar
        if len(ring) > self.keep:
            ring.popitem(last=False)

    def newest(self, symbol: str, interval: str) -> int | None:
        """Open time of the newest candle read (None before the first)."""
        ring = self._bars.get((symbol, interval))
        return max(ring) if ring else None

    async def between(self, symbol: str, interval: str, start: int, end: int) -> list[Bar]:
        """The candles with open time in ``[start, end]``, in order: from memory when it
        holds every one of them, else from the store."""
        if start > end:
            return []
        step = ohlcv.INTERVAL_MS[interval]
        ring = self._bars.get((symbol, interval), OrderedDict())
        first = start + (-start) % step  # the first open time on the interval's grid
        wanted = range(first, end + 1, step)
        if all(t in ring for t in wanted):
            return [ring[t] for t in wanted]
        self.reads += 1
        docs = await (
            self.market_db[STORED_CANDLES]
            .find(ohlcv.range_filter(symbol, interval, start, end + 1))
            .to_list(None)
        )
        cols = ohlcv.concat(docs, start, end + 1)
        return [
            Bar(int(t), int(t) + step - 1, float(o), float(h), float(lo))
            for t, o, h, lo in zip(
                cols["open_time"], cols["open"], cols["high"], cols["low"], strict=True
            )
        ]
