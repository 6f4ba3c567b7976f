"""The Binance feed (``KWONT_FEED=binance``): kline and aggTrade websocket streams.

python-binance's ``BinanceSocketManager`` (subclassed so ``STREAM_URL`` is the configured
base) opens one combined stream: ``<symbol>@kline_<interval>`` and ``<symbol>@aggTrade``
for every symbol. Closed klines become ``candles`` (stored first), trades become ``ticks``.

Connection loss: python-binance reconnects by itself a few times (putting an ``error``
message on the queue each time); when it gives up, or the first connection fails, the feed
opens a new socket after a capped exponential backoff. Gaps: after a reconnect, and whenever
a closed kline is not the one after the last published, the missing closed candles are
fetched over REST (``binance_history.fetch``) and published first, in order. At start, the
candles since the newest stored one are back-filled (at most ``binance_backfill_max``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from binance import BinanceSocketManager  # type: ignore[import-untyped]
from binance.exceptions import (  # type: ignore[import-untyped]
    BinanceWebsocketClosed,
    BinanceWebsocketUnableToConnect,
    ReadLoopClosed,
)
from binance.ws.constants import WSListenerState  # type: ignore[import-untyped]
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from websockets.exceptions import WebSocketException

import kwont_ohlcv as ohlcv
from kwont_common.events import Tick
from kwont_common.events.envelope import now_ms
from kwont_common.retry import backoff
from kwont_common.trading.ids import event_id
from kwont_marketdata import binance_history, binance_rest, store
from kwont_marketdata.aggregate import Bar, next_open, window_open
from kwont_marketdata.outlet import Outlet, bars, candle
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)
FEED = "binance"
QUEUE = 10_000  # python-binance's read loop dies when its queue overflows (default 100)
RECONNECTS = Counter(
    "kwont_marketdata_stream_reconnects_total", "Binance stream connections lost.", ["reason"]
)
BACKFILLED = Counter("kwont_marketdata_backfilled_total", "Candles back-filled over REST.")
SOCKET_ERRORS: tuple[type[BaseException], ...] = (
    ReadLoopClosed, BinanceWebsocketUnableToConnect, BinanceWebsocketClosed, WebSocketException,
    OSError, TimeoutError, *binance_rest.VENDOR_ERRORS,
)  # fmt: skip


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WsKline(_Payload):
    """The ``k`` object of a kline stream event, in Binance's field names."""

    t: int  # open time
    T: int  # close time
    s: str
    i: str
    o: float
    c: float
    h: float
    l: float  # noqa: E741 - Binance's name
    v: float
    n: int
    x: bool  # is this kline closed?
    q: float


class WsKlineEvent(_Payload):
    """A kline message of Binance's WebSocket stream (fields as Binance names them)."""

    e: str = Field(pattern="^kline$")
    E: int
    s: str
    k: WsKline


class WsAggTrade(_Payload):
    """An ``aggTrade`` stream event."""

    e: str = Field(pattern="^aggTrade$")
    E: int
    s: str
    a: int  # aggregate trade id
    p: float
    q: float
    T: int  # trade time
    m: bool  # buyer is the maker


def tick_of(trade: WsAggTrade, source: str) -> Tick:
    """The ``ticks`` event of an aggregated trade (id derived from the venue's trade id)."""
    return Tick(
        event_id=event_id("tick", FEED, trade.s, trade.a), event_time=trade.T, source=source,
        symbol=trade.s, price=trade.p, quantity=trade.q, trade_id=trade.a,
        buyer_is_maker=trade.m, feed=FEED,
    )  # fmt: skip


def bar_of(k: WsKline) -> Bar:
    """A closed kline as a bar."""
    return Bar(k.s, k.i, k.t, k.T, k.o, k.h, k.l, k.c, k.v, k.q, k.n)


def socket_manager(settings: MarketdataSettings, client: Any) -> Any:
    """A ``BinanceSocketManager`` whose spot streams come from ``binance_stream_url``."""
    cls = type("ConfiguredSocketManager", (BinanceSocketManager,),
               {"STREAM_URL": settings.binance_stream_url})  # fmt: skip
    return cls(client, max_queue_size=QUEUE)


class BinanceFeed:
    """Publishes one combined stream; remembers the last candle published per symbol."""

    def __init__(self, settings: MarketdataSettings, outlet: Outlet, client: Any) -> None:
        self.settings = settings
        self.outlet = outlet
        self.client = client
        self.interval = settings.feed_interval
        self.last: dict[str, int | None] = {s: None for s in settings.symbols}
        self.connected = asyncio.Event()  # set while a socket streams (tests wait on it)
        self._lost = False

    def streams(self) -> list[str]:
        """The stream names to subscribe: a kline and an aggTrade stream per symbol."""
        out = []
        for s in self.settings.symbols:
            out += [f"{s.lower()}@kline_{self.interval}", f"{s.lower()}@aggTrade"]
        return out

    async def resume(self) -> None:
        """Start after the newest stored candle; back-fill up to now (capped)."""
        most = self.settings.binance_backfill_max
        floor = window_open(self.interval, now_ms()) - (most + 1) * ohlcv.INTERVAL_MS[self.interval]
        for symbol in self.last:
            stored = await store.last(self.outlet.db, symbol, self.interval)
            if stored is not None and most > 0:
                self.last[symbol] = max(int(stored["open_time"]), floor)
                await self.catch_up(symbol, now_ms())

    async def catch_up(self, symbol: str, until_ms: int) -> None:
        """Publish the closed candles after the last published one with open time before
        ``until_ms``, fetched over REST."""
        last = self.last[symbol]
        if last is None:
            return
        start = next_open(self.interval, last)
        if start >= until_ms:
            return
        cols = await binance_history.fetch(self.client, symbol, self.interval, start, until_ms,
                                           now_ms=now_ms())  # fmt: skip
        for bar in bars(symbol, self.interval, cols):
            if bar.open_time > (self.last[symbol] or -1):
                await self._publish(bar)
                BACKFILLED.inc()
        if len(cols["open_time"]):
            log.info("%s: back-filled %d candles over REST", symbol, len(cols["open_time"]))

    async def handle(self, message: dict[str, Any]) -> None:
        """One message of the combined stream (or python-binance's ``error`` notice)."""
        if message.get("e") == "error":
            if not self._lost:
                log.warning("Binance stream lost (%s: %s)", message.get("type"), message.get("m"))
                RECONNECTS.labels(str(message.get("type"))).inc()
            self._lost = True
            self.connected.clear()
            return
        if self._lost:  # first message after python-binance reconnected
            self._lost = False
            await self._after_reconnect()
        data = message.get("data", message)
        try:
            if data.get("e") == "aggTrade":
                await self.outlet.tick(tick_of(WsAggTrade.model_validate(data),
                                               self.settings.service_name))  # fmt: skip
            elif data.get("e") == "kline":
                k = WsKlineEvent.model_validate(data).k
                if k.x and k.i == self.interval and k.s in self.last:
                    await self.closed(bar_of(k))
        except ValidationError as exc:
            log.warning("ignored a stream message not in Binance's format: %s", exc)

    async def closed(self, bar: Bar) -> None:
        """A closed kline: fill any gap before it, then publish it (once)."""
        last = self.last[bar.symbol]
        if last is not None and bar.open_time <= last:
            return  # already published (back-filled before the stream caught up)
        if last is not None and bar.open_time > next_open(self.interval, last):
            await self.catch_up(bar.symbol, bar.open_time)
        await self._publish(bar)

    async def _after_reconnect(self) -> None:
        self.connected.set()
        for symbol in self.last:
            await self.catch_up(symbol, now_ms())

    async def _publish(self, bar: Bar) -> None:
        await self.outlet.candle(candle(bar, FEED, self.settings.service_name))
        self.last[bar.symbol] = bar.open_time

    async def stream(self, stop: asyncio.Event) -> None:
        """Read one socket until ``stop``.

        Raises:
            ReadLoopClosed, BinanceWebsocketUnableToConnect, OSError: the socket is gone.
        """
        socket = socket_manager(self.settings, self.client).multiplex_socket(self.streams())
        async with socket:
            try:
                self.connected.set()
                if self._lost:
                    self._lost = False
                    await self._after_reconnect()
                while not stop.is_set():
                    message = await _until_stop(socket.recv(), stop)
                    if message is not None:
                        await self.handle(message)
            finally:
                await _hang_up(socket)


async def _hang_up(socket: Any) -> None:
    # python-binance's read loop only notices it should exit after its 10 s receive timeout;
    # saying so and closing the connection ends it at once.
    socket.ws_state = WSListenerState.EXITING
    if socket.ws is not None:
        with contextlib.suppress(Exception):
            await socket.ws.close()


async def _until_stop(call: Any, stop: asyncio.Event) -> Any:
    task = asyncio.ensure_future(call)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()


async def run(settings: MarketdataSettings, outlet: Outlet, stop: asyncio.Event) -> None:
    """The feed task: connect, stream, reconnect with capped backoff, until ``stop``."""
    attempt = 0
    feed: BinanceFeed | None = None
    while not stop.is_set():
        try:
            async with binance_rest.connect(settings) as client:
                if feed is None:
                    feed = BinanceFeed(settings, outlet, client)
                    await feed.resume()
                feed.client = client
                attempt = 0
                await feed.stream(stop)
        except SOCKET_ERRORS as exc:
            attempt += 1
            if feed is not None:
                feed._lost = True
                feed.connected.clear()
            delay = backoff(attempt, settings.binance_reconnect_max_s, base=0.5)
            log.warning("Binance feed down (%s: %s); retrying in %.1fs",
                        type(exc).__name__, exc, delay)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
