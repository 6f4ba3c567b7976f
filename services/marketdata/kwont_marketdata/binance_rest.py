"""Binance REST through python-binance's ``AsyncClient``, pointed at the configured bases.

The base URLs are class attributes of a subclass because ``AsyncClient.create()`` pings the
exchange during construction (instance attributes would be set too late). Tests point them
at a local server that answers in Binance's wire format.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import aiohttp
from binance import AsyncClient  # type: ignore[import-untyped]
from binance.exceptions import (  # type: ignore[import-untyped]
    BinanceAPIException,
    BinanceRequestException,
)
from pydantic import TypeAdapter

from kwont_marketdata.binance_models import ExchangeInfo, Ticker24h
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)

Market = Literal["spot", "futures"]
PAGE = 1000  # Binance's largest kline page on both spot and USD-M futures
RETRIES = 5  # on 429 (rate limit), 418 (IP ban warning) and 5xx answers
_TICKERS = TypeAdapter(list[Ticker24h])

#: What a call to Binance may raise besides a malformed answer (pydantic's ValueError).
VENDOR_ERRORS: tuple[type[Exception], ...] = (
    BinanceAPIException, BinanceRequestException, aiohttp.ClientError, TimeoutError,
)  # fmt: skip


@asynccontextmanager
async def connect(settings: MarketdataSettings) -> AsyncIterator[Any]:
    """A connected ``AsyncClient`` (public endpoints only), closed on exit.

    Raises:
        aiohttp.ClientError: Binance is unreachable (``create()`` pings it).
        binance.exceptions.BinanceAPIException: the ping was answered with an error.
    """
    client_class: Any = type(
        "ConfiguredAsyncClient",
        (AsyncClient,),
        {"API_URL": settings.binance_api_url, "FUTURES_URL": settings.binance_futures_url},
    )
    client = await client_class.create()
    try:
        yield client
    finally:
        await client.close_connection()


async def _call(fetch: Any, **params: Any) -> Any:
    """``fetch(**params)``, waiting out rate limits and server errors a few times."""
    for attempt in range(1, RETRIES + 1):
        try:
            return await fetch(**params)
        except BinanceAPIException as exc:
            if attempt == RETRIES or not (exc.status_code in (418, 429) or exc.status_code >= 500):
                raise
            headers = getattr(exc.response, "headers", {}) or {}
            wait = float(headers.get("Retry-After", 2**attempt))
            log.warning("Binance answered %s; retrying in %.0fs", exc.status_code, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def klines(
    client: Any,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    market: Market = "spot",
    now_ms: int | None = None,
) -> AsyncIterator[list[list[Any]]]:
    """Pages of closed klines with open time in ``[start_ms, end_ms)``, oldest first.

    A candle still open at ``now_ms`` (its close time not yet passed) is left out.

    Raises:
        binance.exceptions.BinanceAPIException: Binance refused a request (e.g. an unknown
            symbol), or still rate-limited it after ``RETRIES`` attempts.
        aiohttp.ClientError: Binance became unreachable.
    """
    fetch = client.get_klines if market == "spot" else client.futures_klines
    cursor = start_ms
    while cursor < end_ms:
        page: list[list[Any]] = await _call(
            fetch, symbol=symbol, interval=interval, startTime=cursor, endTime=end_ms - 1,
            limit=PAGE,
        )  # fmt: skip
        closed = [k for k in page if now_ms is None or int(k[6]) < now_ms]
        if closed:
            yield closed
        if len(page) < PAGE or len(closed) < len(page):
            return  # a short page ends the range; an open candle is the newest there is
        cursor = int(page[-1][0]) + 1


async def exchange_info(client: Any) -> ExchangeInfo:
    """Spot exchangeInfo (every symbol, including ones not trading).

    Raises:
        binance.exceptions.BinanceAPIException, aiohttp.ClientError: as ``klines``.
        pydantic.ValidationError: the answer is not in Binance's format.
    """
    return ExchangeInfo.model_validate(await _call(client.get_exchange_info))


async def tickers(client: Any) -> dict[str, Ticker24h]:
    """24h tickers of every spot symbol, by symbol.

    Raises:
        binance.exceptions.BinanceAPIException, aiohttp.ClientError: as ``klines``.
        pydantic.ValidationError: the answer is not in Binance's format.
    """
    return {t.symbol: t for t in _TICKERS.validate_python(await _call(client.get_ticker))}
