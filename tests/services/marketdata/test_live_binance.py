"""The Binance feed: python-binance's socket manager against a local server speaking the
Binance combined-stream format, with a dropped connection, a reconnect and REST back-fill."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_marketdata import binance_stream, store
from tests.libs.common.kafka_helpers import wait_for
from tests.services.marketdata.live import (
    live_settings,
    market_db,
    outlet,
    read_candles,
    read_ticks,
)
from tests.services.marketdata.vendors import (
    MINUTE,
    T0,
    Binance,
    BinanceStreams,
    agg_trade_event,
    kline_event,
    klines,
    serve,
)

pytestmark = pytest.mark.integration
KLINE, TRADES = "btcusdt@kline_1m", "btcusdt@aggTrade"


@pytest.fixture
async def exchange() -> AsyncIterator[tuple[Binance, BinanceStreams, str]]:
    rest, streams = Binance(), BinanceStreams()
    app: web.Application = rest.app()
    streams.install(app)
    async with serve(app) as url:
        yield rest, streams, url
        await streams.drop()


async def test_klines_and_trades_flow_and_a_reconnect_back_fills_the_gap_over_rest(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str,
    exchange: tuple[Binance, BinanceStreams, str],
) -> None:  # fmt: skip
    rest, streams, url = exchange
    rows = klines(8)
    settings = await live_settings(
        kafka_bootstrap, mongo, mongo_db, feed="binance", feed_symbols="BTCUSDT",
        binance_api_url=f"{url}/api", binance_stream_url=url.replace("http", "ws") + "/",
        binance_backfill_max=0, binance_reconnect_max_s=0.5,
    )  # fmt: skip
    rest.spot[("BTCUSDT", "1m")] = rows[:1]
    stop = asyncio.Event()
    async with outlet(settings) as out:
        feed = asyncio.create_task(binance_stream.run(settings, out, stop))
        try:
            await wait_for(lambda: streams.connections == 1 and bool(streams.sockets))
            assert next(iter(streams.sockets.values())) == [KLINE, TRADES]
            await streams.push(KLINE, kline_event("BTCUSDT", "1m", rows[0], closed=True))
            await streams.push(KLINE, kline_event("BTCUSDT", "1m", rows[1], closed=False))
            trade = agg_trade_event("BTCUSDT", 7, "42001.5", "0.25", T0 + 61_000)
            await streams.push(TRADES, trade)
            await streams.push(TRADES, {"e": "aggTrade", "s": "BTCUSDT"})  # not Binance's format
            await streams.push(KLINE, kline_event("BTCUSDT", "1m", rows[0], closed=True))  # again
            (tick,) = await read_ticks(settings, 1)
            assert (tick.symbol, tick.price, tick.quantity, tick.trade_id, tick.event_time) == (
                "BTCUSDT",
                42001.5,
                0.25,
                7,
                T0 + 61_000,
            )

            # The exchange goes away; meanwhile candles 1..3 close (REST has them by then).
            await streams.drop()
            rest.spot[("BTCUSDT", "1m")] = rows[:4]
            await wait_for(lambda: streams.connections == 2 and bool(streams.sockets), timeout=30)
            await streams.push(KLINE, kline_event("BTCUSDT", "1m", rows[4], closed=True))
            await read_candles(settings, 5)
            assert rest.requests.count("/api/v3/klines") == 1  # the back-fill after reconnecting
            # A gap while streaming: 5 never came over the socket, 6 did.
            rest.spot[("BTCUSDT", "1m")] = rows[:7]
            await streams.push(KLINE, kline_event("BTCUSDT", "1m", rows[6], closed=True))
            published = await read_candles(settings, 7)
        finally:
            stop.set()
            await asyncio.wait_for(feed, 15)
    assert [c.open_time for c in published] == [T0 + i * MINUTE for i in range(7)]
    assert [c.close for c in published] == [float(r[4]) for r in rows[:7]]
    assert {c.feed for c in published} == {"binance"} and published[0].trades == rows[0][8]
    assert rest.requests.count("/api/v3/klines") == 2  # the reconnect, then the gap
    conn, db = market_db(settings)
    stored = await store.read_range(db, "BTCUSDT", "1m", T0, T0 + 10 * MINUTE)
    assert stored["open_time"].tolist() == [T0 + i * MINUTE for i in range(7)]
    await conn.close()
    with pytest.raises(TimeoutError):  # nothing published twice
        await read_candles(settings, 8, timeout=1)
