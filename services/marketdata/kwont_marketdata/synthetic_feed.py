"""The synthetic feed (``KWONT_FEED=synthetic``): seeded GBM candles on an accelerated clock.

Every ``feed_pace_s`` seconds of wall time each symbol gets its next closed candle. Candle
times continue from the newest stored candle of that symbol and interval (or from now,
aligned to the interval), so the market runs ahead of the wall clock by the pace's factor.
Each bar opens at the previous close and is drawn by ``kwont_quant.synthetic.gbm_ohlcv``
from a seed mixing ``feed_seed``, the symbol and the bar's open time: the same seed gives
the same path, also across restarts. Candles carry ``feed: synthetic``.

A bar opening on a funding time (every 8 hours, 00:00, 08:00 and 16:00 UTC) also stores
that symbol's synthetic funding row (``funding.synthetic_rate``, mark price the bar's open)
in ``ohlcv.funding`` and publishes it to ``funding`` (the paper venue pays it), so funding
keeps pace with the accelerated clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time

import kwont_ohlcv as ohlcv
from kwont_common.events.envelope import now_ms
from kwont_common.mongo import Database
from kwont_marketdata import funding, store
from kwont_marketdata.aggregate import Bar, next_open, window_open
from kwont_marketdata.load import DEMO_SYMBOLS
from kwont_marketdata.outlet import Outlet, candle
from kwont_marketdata.settings import MarketdataSettings
from kwont_quant.synthetic import gbm_ohlcv

log = logging.getLogger(__name__)
FEED = "synthetic"
DEFAULT_PRICE = 100.0


def bar_seed(seed: int, symbol: str, open_time: int) -> int:
    """A 64-bit seed for one bar, from the feed seed, the symbol and the bar's open time."""
    digest = hashlib.blake2b(f"{seed}:{symbol}:{open_time}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def next_bar(symbol: str, interval: str, open_time: int, prev_close: float, seed: int) -> Bar:
    """The synthetic bar opening at ``open_time`` at ``prev_close``."""
    c = gbm_ohlcv(1, seed=bar_seed(seed, symbol, open_time), start_ms=open_time,
                  interval_ms=ohlcv.INTERVAL_MS[interval], price=prev_close)  # fmt: skip
    o, h, lo, cl, v = (float(a[0]) for a in (c.open, c.high, c.low, c.close, c.volume))
    return Bar(symbol, interval, open_time, next_open(interval, open_time) - 1, o, h, lo, cl,
               v, cl * v, 0)  # fmt: skip


async def starting_points(
    db: Database, symbols: list[str], interval: str, now: int
) -> dict[str, tuple[int, float]]:
    """Per symbol: (open time of its next bar, price it opens at)."""
    points = {}
    for symbol in symbols:
        last = await store.last(db, symbol, interval)
        if last is not None:
            points[symbol] = (next_open(interval, int(last["open_time"])), last["close"])
        else:
            points[symbol] = (window_open(interval, now), DEMO_SYMBOLS.get(symbol, DEFAULT_PRICE))
    return points


async def store_funding(outlet: Outlet, symbol: str, time_ms: int, mark: float, seed: int,
                        source: str = "marketdata") -> None:  # fmt: skip
    """Store the synthetic funding row of ``symbol`` at ``time_ms`` (idempotent) and publish
    it to ``funding``."""
    rate = funding.synthetic_rate(symbol, time_ms, seed)
    await outlet.funding(symbol, time_ms, rate, mark, "synthetic", source)


async def run(settings: MarketdataSettings, outlet: Outlet, stop: asyncio.Event) -> None:
    """Publish the next bar of every symbol each ``feed_pace_s`` seconds until ``stop``."""
    interval, seed = settings.feed_interval, settings.feed_seed
    points = await starting_points(outlet.db, settings.symbols, interval, now_ms())
    log.info("synthetic feed: %s %s every %gs", ",".join(points), interval, settings.feed_pace_s)
    started, step = time.monotonic(), 0
    while not stop.is_set():
        for symbol, (open_time, price) in points.items():
            bar = next_bar(symbol, interval, open_time, price, seed)
            if open_time % funding.INTERVAL_MS == 0:
                await store_funding(outlet, symbol, open_time, bar.open, seed,
                                    settings.service_name)  # fmt: skip
            await outlet.candle(candle(bar, FEED, settings.service_name))
            points[symbol] = (next_open(interval, open_time), bar.close)
        step += 1
        # A deadline per step (not a sleep per step), so the pace does not drift.
        delay = started + step * settings.feed_pace_s - time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, delay))
