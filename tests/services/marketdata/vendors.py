"""Local stand-ins for Binance REST and CoinMarketCap: real HTTP servers on 127.0.0.1
answering in the vendors' JSON formats, for the real python-binance and httpx clients.

Binance: spot ``/api/v3/{ping,time,exchangeInfo,ticker/24hr,klines}`` and USD-M futures
``/fapi/v1/{ping,time,klines,fundingRate}``; klines page by ``startTime``/``endTime``/
``limit`` (default 500, at most 1000) like the exchange, fundingRate likewise (default 100,
at most 1000; without ``startTime`` the newest rows), errors as
``{"code": -1121, "msg": ...}``.
CoinMarketCap: ``/v1/cryptocurrency/listings/latest`` with the ``X-CMC_PRO_API_KEY`` header.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

MINUTE = 60_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z


def klines(n: int, start: int = T0, step: int = MINUTE, seed: int = 1) -> list[list[Any]]:
    """``n`` closed klines in Binance's row format (decimal strings padded to 8 places)."""
    rng = np.random.default_rng(seed)
    close = 42_000 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    rows = []
    for i in range(n):
        o = close[i - 1] if i else close[0]
        hi, lo = max(o, close[i]) * 1.0005, min(o, close[i]) * 0.9995
        vol = float(rng.uniform(1, 20))
        t = start + i * step
        rows.append([
            t, f"{o:.8f}", f"{hi:.8f}", f"{lo:.8f}", f"{close[i]:.8f}", f"{vol:.8f}",
            t + step - 1, f"{vol * close[i]:.8f}", int(rng.integers(10, 900)),
            f"{vol / 2:.8f}", f"{vol * close[i] / 2:.8f}", "0",
        ])  # fmt: skip
    return rows


def funding_rows(
    n: int, symbol: str = "BTCUSDT", start: int = T0, seed: int = 1, no_mark: int = 0
) -> list[dict[str, Any]]:
    """``n`` 8-hourly ``/fapi/v1/fundingRate`` rows as Binance sends them: ``fundingTime``
    a few ms late (as the exchange's are), rate and mark price as decimal strings, the first
    ``no_mark`` rows with ``markPrice: ""`` (as Binance's oldest rows)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        mark = "" if i < no_mark else f"{42_000 * (1 + 0.01 * rng.normal()):.8f}"
        rows.append({
            "symbol": symbol, "fundingTime": start + i * 8 * 60 * MINUTE + int(rng.integers(0, 9)),
            "fundingRate": f"{0.0001 + 0.0002 * rng.normal():.8f}", "markPrice": mark,
        })  # fmt: skip
    return rows


def symbol_info(symbol: str, base: str, quote: str, tick: str, step: str, notional: str,
                status: str = "TRADING") -> dict[str, Any]:  # fmt: skip
    """One exchangeInfo ``symbols`` entry as Binance spot sends it (filters padded)."""
    return {
        "symbol": symbol, "status": status, "baseAsset": base, "baseAssetPrecision": 8,
        "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"], "icebergAllowed": True, "ocoAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "permissions": [],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000",
             "stepSize": step},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "NOTIONAL", "minNotional": notional, "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
    }  # fmt: skip


def ticker(symbol: str, last: str, quote_volume: str) -> dict[str, Any]:
    """One ``/api/v3/ticker/24hr`` entry."""
    now = int(time.time() * 1000)
    return {
        "symbol": symbol, "priceChange": "0.0", "priceChangePercent": "0.0",
        "weightedAvgPrice": last, "prevClosePrice": last, "lastPrice": last, "lastQty": "0.1",
        "bidPrice": last, "bidQty": "1.0", "askPrice": last, "askQty": "1.0", "openPrice": last,
        "highPrice": last, "lowPrice": last, "volume": "100.0", "quoteVolume": quote_volume,
        "openTime": now - 86_400_000, "closeTime": now, "firstId": 1, "lastId": 2, "count": 2,
    }  # fmt: skip


def _error(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


@dataclass
class Binance:
    """What the stand-in serves; tests edit it between requests."""

    spot: dict[tuple[str, str], list[list[Any]]] = field(default_factory=dict)
    futures: dict[tuple[str, str], list[list[Any]]] = field(default_factory=dict)
    symbols: list[dict[str, Any]] = field(default_factory=list)
    tickers: list[dict[str, Any]] = field(default_factory=list)
    funding: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by symbol
    requests: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._log])
        for prefix, market in (("/api/v3", self.spot), ("/fapi/v1", self.futures)):
            app.router.add_get(f"{prefix}/ping", self._ping)
            app.router.add_get(f"{prefix}/time", self._time)
            app.router.add_get(f"{prefix}/klines", self._klines_of(market))
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/ticker/24hr", self._tickers)
        app.router.add_get("/fapi/v1/fundingRate", self._funding)
        return app

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request.path)
        response: web.StreamResponse = await handler(request)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(len(self.requests))
        return response

    async def _ping(self, _: web.Request) -> web.Response:
        return web.json_response({})

    async def _time(self, _: web.Request) -> web.Response:
        return web.json_response({"serverTime": int(time.time() * 1000)})

    async def _exchange_info(self, _: web.Request) -> web.Response:
        return web.json_response({
            "timezone": "UTC", "serverTime": int(time.time() * 1000), "rateLimits": [],
            "exchangeFilters": [], "symbols": self.symbols,
        })  # fmt: skip

    async def _tickers(self, request: web.Request) -> web.Response:
        if "symbol" in request.query:
            found = [t for t in self.tickers if t["symbol"] == request.query["symbol"]]
            return web.json_response(found[0]) if found else _error(400, -1121, "Invalid symbol.")
        return web.json_response(self.tickers)

    async def _funding(self, request: web.Request) -> web.Response:
        q = request.query
        limit = int(q.get("limit", 100))
        if not 1 <= limit <= 1000:
            return _error(400, -1130, "Invalid data sent for a parameter.")
        rows = self.funding.get(q.get("symbol", ""))
        if rows is None:
            return _error(400, -1121, "Invalid symbol.")
        lo, hi = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
        inside = [r for r in rows if lo <= r["fundingTime"] <= hi]
        return web.json_response(inside[:limit] if "startTime" in q else inside[-limit:])

    def _klines_of(self, market: dict[tuple[str, str], list[list[Any]]]) -> Any:
        async def handler(request: web.Request) -> web.Response:
            q = request.query
            if "symbol" not in q or "interval" not in q:
                return _error(400, -1102, "Mandatory parameter was not sent.")
            limit = int(q.get("limit", 500))
            if not 1 <= limit <= 1000:
                return _error(400, -1130, "Invalid data sent for a parameter.")
            rows = market.get((q["symbol"], q["interval"]))
            if rows is None:
                return _error(400, -1121, "Invalid symbol.")
            lo, hi = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
            inside = [r for r in rows if lo <= r[0] <= hi]
            page = inside[:limit] if "startTime" in q else inside[-limit:]
            return web.json_response(page)

        return handler


@dataclass
class CoinMarketCap:
    """Listings by market cap: ``coins`` are (symbol, market cap) in rank order."""

    api_key: str = "test-key"
    coins: list[tuple[str, float]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/cryptocurrency/listings/latest", self._listings)
        return app

    def _status(self, code: int = 0, message: str | None = None) -> dict[str, Any]:
        return {
            "timestamp": "2024-01-01T00:00:00.000Z", "error_code": code,
            "error_message": message, "elapsed": 1, "credit_count": 1, "notice": None,
        }  # fmt: skip

    async def _listings(self, request: web.Request) -> web.Response:
        if request.headers.get("X-CMC_PRO_API_KEY") != self.api_key:
            body = {"status": self._status(1001, "This API Key is invalid.")}
            return web.json_response(body, status=401)
        start, limit = int(request.query.get("start", 1)), int(request.query.get("limit", 100))
        data: list[dict[str, Any]] = [
            {"id": rank, "name": sym.title(), "symbol": sym, "slug": sym.lower(),
             "cmc_rank": rank, "num_market_pairs": 10, "circulating_supply": 1.0,
             "total_supply": 1.0, "max_supply": None, "last_updated": "2024-01-01T00:00:00.000Z",
             "date_added": "2013-04-28T00:00:00.000Z", "tags": [], "platform": None,
             "quote": {"USD": {"price": cap / 1e6, "volume_24h": 1.0, "market_cap": cap,
                               "last_updated": "2024-01-01T00:00:00.000Z"}}}
            for rank, (sym, cap) in enumerate(self.coins, start=1)
        ][start - 1 : start - 1 + limit]  # fmt: skip
        return web.json_response({"status": self._status(), "data": data})


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


# --- Binance websocket streams (the same server as the REST stand-in) -----------------


def kline_event(symbol: str, interval: str, row: list[Any], closed: bool = True) -> dict[str, Any]:
    """A ``<symbol>@kline_<interval>`` stream payload for a REST kline row."""
    return {
        "e": "kline", "E": int(row[6]) + 1, "s": symbol,
        "k": {"t": row[0], "T": row[6], "s": symbol, "i": interval, "f": 1, "L": 2,
              "o": row[1], "c": row[4], "h": row[2], "l": row[3], "v": row[5], "n": row[8],
              "x": closed, "q": row[7], "V": row[9], "Q": row[10], "B": "0"},
    }  # fmt: skip


def agg_trade_event(symbol: str, trade_id: int, price: str, qty: str, time_ms: int,
                    maker: bool = False) -> dict[str, Any]:  # fmt: skip
    """A ``<symbol>@aggTrade`` stream payload."""
    return {
        "e": "aggTrade", "E": time_ms + 1, "s": symbol, "a": trade_id, "p": price, "q": qty,
        "f": trade_id * 10, "l": trade_id * 10 + 1, "T": time_ms, "m": maker, "M": True,
    }  # fmt: skip


@dataclass
class BinanceStreams:
    """Combined streams at ``/stream?streams=a/b`` as Binance serves them: each message is
    ``{"stream": name, "data": payload}``. Tests push payloads and drop connections."""

    sockets: dict[web.WebSocketResponse, list[str]] = field(default_factory=dict)
    connections: int = 0  # accepted so far

    def install(self, app: web.Application) -> None:
        app.router.add_get("/stream", self._stream)

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets[ws] = request.query.get("streams", "").split("/")
        self.connections += 1
        try:
            async for _ in ws:  # market streams ignore what the client sends
                pass
        finally:
            self.sockets.pop(ws, None)
        return ws

    async def push(self, stream: str, data: dict[str, Any]) -> int:
        """Send ``data`` on every connection subscribed to ``stream``; returns how many."""
        sent = 0
        for ws, names in list(self.sockets.items()):
            if stream in names and not ws.closed:
                await ws.send_json({"stream": stream, "data": data})
                sent += 1
        return sent

    async def drop(self) -> None:
        """Close every connection (the exchange going away)."""
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"going away")
