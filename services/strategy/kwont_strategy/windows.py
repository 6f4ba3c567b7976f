"""Rolling windows of closed candles, one per (symbol, interval), kept in memory.

A window is the last ``cap`` closed candles up to and including the newest one seen. It is
loaded from the ``ohlcv`` store on first use (marketdata stores each candle before
publishing it), then grows by appending each candle that follows the last one. Any other
candle reloads from the store, so the window a signal is computed on is always "the last
``cap`` stored candles up to this one", whichever way it was built:

- a gap (the candle is later than the next one): reload ending at it;
- a redelivery of the newest candle: the window as it is;
- an older candle (a redelivery after a rebalance or restart): a window ending at it, read
  from the store and not kept, so the live window is not rewound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import kwont_ohlcv as ohlcv
from kwont_common.events import Candle
from kwont_common.mongo import Database
from kwont_quant import Candles

COLLECTION = "candles"
WIDEN = (1, 4, 16, 64)
"""Look-back spans, in multiples of ``cap`` intervals, tried in turn until enough candles
are found (history with gaps needs a longer span for the same count)."""


async def stored_before(
    db: Database, symbol: str, interval: str, before_ms: int, count: int
) -> ohlcv.Columns:
    """The last ``count`` stored candles opening before ``before_ms`` (fewer if history is
    shorter than the longest span of :data:`WIDEN`).

    Raises:
        pymongo.errors.PyMongoError: the read failed (transient ones are retried upstream).
    """
    step = ohlcv.INTERVAL_MS[interval]
    cols: ohlcv.Columns = {}
    for factor in WIDEN:
        start = max(0, before_ms - factor * count * step)
        docs = (
            await db[COLLECTION]
            .find(ohlcv.range_filter(symbol, interval, start, before_ms))
            .to_list(None)
        )
        cols = ohlcv.concat(docs, start, before_ms)
        if len(cols["open_time"]) >= count or start == 0:
            break
    return {name: col[-count:] if count else col[:0] for name, col in cols.items()}


def with_candle(columns: ohlcv.Columns, candle: Candle, cap: int) -> Candles:
    """Stored columns (all before ``candle``) plus ``candle``, the last ``cap`` of them."""
    times = np.append(columns["open_time"].astype(np.int64), candle.open_time)
    return Candles.from_arrays(
        times[-cap:],
        np.append(columns["open"], candle.open)[-cap:],
        np.append(columns["high"], candle.high)[-cap:],
        np.append(columns["low"], candle.low)[-cap:],
        np.append(columns["close"], candle.close)[-cap:],
        np.append(columns["volume"], candle.volume)[-cap:],
    )


def appended(window: Candles, candle: Candle, cap: int) -> Candles:
    """``window`` plus ``candle`` (which follows its last one), the last ``cap`` rows.

    Built without re-validating the rows already checked; the new arrays are read-only, as
    :meth:`Candles.from_arrays` makes them, so no strategy can alter what another sees.
    """
    keep = max(0, len(window) - cap + 1)
    cols = [
        np.append(getattr(window, name)[keep:], value)
        for name, value in (
            ("open_time_ms", candle.open_time),
            ("open", candle.open),
            ("high", candle.high),
            ("low", candle.low),
            ("close", candle.close),
            ("volume", candle.volume),
        )
    ]
    for col in cols:
        col.setflags(write=False)
    return Candles(cols[0].astype(np.int64), *cols[1:])


@dataclass
class _Held:
    candles: Candles
    cap: int
    last_close_time: int


class Windows:
    """The windows of the keys this replica consumes (one consumer loop: no locking)."""

    def __init__(self, market: Database) -> None:
        self.market = market
        self._held: dict[tuple[str, str], _Held] = {}
        self.reloads = 0

    def keys(self) -> set[tuple[str, str]]:
        """(symbol, interval) of every window held."""
        return set(self._held)

    async def window(self, candle: Candle, cap: int) -> Candles:
        """The last ``cap`` closed candles up to and including ``candle``.

        Raises:
            pymongo.errors.PyMongoError: a store read failed.
            kwont_quant.DataError: the stored history is malformed.
        """
        key = (candle.symbol, candle.interval)
        held = self._held.get(key)
        if held is not None:
            last = int(held.candles.open_time_ms[-1])
            if candle.open_time < last:
                return await self._load(candle, cap)  # not kept: the live window stays
            if held.cap >= cap:
                step = ohlcv.INTERVAL_MS[candle.interval]
                if candle.open_time in (held.last_close_time + 1, last + step):
                    held.candles = appended(held.candles, candle, held.cap)
                    held.last_close_time = candle.close_time
                    return held.candles
                if candle.open_time == last:
                    return held.candles
        window = await self._load(candle, cap)
        self._held[key] = _Held(window, cap, candle.close_time)
        return window

    async def _load(self, candle: Candle, cap: int) -> Candles:
        self.reloads += 1
        before = await stored_before(
            self.market, candle.symbol, candle.interval, candle.open_time, cap - 1
        )
        return with_candle(before, candle, cap)
