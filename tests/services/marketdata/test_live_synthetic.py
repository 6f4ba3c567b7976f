"""The synthetic feed through the service shell: paced GBM candles, continuing the store."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from kwont_common.events.envelope import now_ms
from kwont_common.service import serve
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_marketdata import funding, funding_store, main, store
from kwont_marketdata.aggregate import window_open
from kwont_marketdata.load import synthetic_columns
from kwont_marketdata.synthetic_feed import next_bar
from tests.services.marketdata.live import live_settings, market_db, read_candles
from tests.services.marketdata.vendors import MINUTE, T0

pytestmark = pytest.mark.integration


async def test_synthetic_feed_continues_stored_candles_stores_then_publishes(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str
) -> None:
    settings = await live_settings(kafka_bootstrap, mongo, mongo_db, feed="synthetic",
                                   feed_symbols="btcusdt,SOLUSDT", feed_pace_s=0.1)  # fmt: skip
    conn, db = market_db(settings)
    await store.ensure_indexes(db)
    history = synthetic_columns("BTCUSDT", T0, 1, "1m", 42_000.0, seed=3)
    await store.upsert(db, "BTCUSDT", "1m", history, feed="synthetic")
    last_open, last_close = int(history["open_time"][-1]), float(history["close"][-1])

    stop = asyncio.Event()
    before = now_ms()
    service = asyncio.create_task(serve(settings, main.setup, stop))
    published = await read_candles(settings, 10, timeout=30)
    stop.set()
    assert await asyncio.wait_for(service, 20) == 0

    by_symbol = {s: [c for c in published if c.symbol == s] for s in ("BTCUSDT", "SOLUSDT")}
    btc, sol = by_symbol["BTCUSDT"], by_symbol["SOLUSDT"]
    assert len(btc) == len(sol) == 5  # one each per step, in step
    assert btc[0].open_time == last_open + MINUTE and btc[0].open == last_close
    assert window_open("1m", before) <= sol[0].open_time <= window_open("1m", now_ms())
    assert sol[0].open == 100.0  # no history, no demo price: the default
    for series in (btc, sol):
        for a, b in itertools.pairwise(series):
            assert b.open_time == a.open_time + MINUTE and b.open == a.close
        for c in series:
            assert c.feed == "synthetic" and c.key() == f"{c.symbol}:1m"
            expected = next_bar(c.symbol, "1m", c.open_time, c.open, seed=settings.feed_seed)
            assert (c.high, c.low, c.close, c.volume) == (
                expected.high,
                expected.low,
                expected.close,
                expected.volume,
            )
            stored = await store.read_range(db, c.symbol, "1m", c.open_time, c.open_time + 1)
            assert stored["close"].tolist() == [c.close]
    # BTCUSDT's first bar opens at midnight, a funding time: its synthetic funding is stored,
    # the bar's open as mark price (SOLUSDT starts at the wall clock, so whether its five
    # bars cross a funding time depends on the hour; it is not checked).
    cols = await funding_store.read_columns(db, "BTCUSDT", 0, 2**62)
    assert cols["funding_time"].tolist() == [last_open + MINUTE]
    assert cols["rate"].tolist() == [
        funding.synthetic_rate("BTCUSDT", last_open + MINUTE, settings.feed_seed)
    ]
    assert cols["mark_price"].tolist() == [last_close]
    # The pace: ten candles (five steps) took about half a second, not an instant.
    assert (published[-1].produced_at - published[0].produced_at) >= 350
    await conn.close()
