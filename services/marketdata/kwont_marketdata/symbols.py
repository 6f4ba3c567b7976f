"""Symbol metadata (collection ``symbols`` of the platform database), from the vendors.

The document is the one the gateway serves (kwont_gateway/symbols.py): ``{_id: symbol,
symbol, base_asset, quote_asset, status, volume_24h, market_cap, filters, tags,
description}``, plus ``last_price``, ``refreshed_at`` and ``vendor`` (the vendors' last
word on the fields an admin may also edit).

Who owns what: assets, filters, 24h volume and last price are Binance's and overwritten on
every refresh; ``tags`` and ``description`` are the admin's and never written here.
``status`` (Binance) and ``market_cap`` (CoinMarketCap) are shared: the gateway lets an
admin PATCH them, and a stored value that differs from ``vendor.<field>`` is an admin's
edit and is kept. It follows the vendor again once the vendor agrees with it. The write of
a shared field is conditional on the value read, so an edit made during a refresh wins.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pymongo import UpdateOne

from kwont_common.mongo import Database
from kwont_marketdata import binance_rest, coinmarketcap
from kwont_marketdata.binance_models import symbol_fields
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)

COLLECTION = "symbols"
SHARED = ("status", "market_cap")


@dataclass(frozen=True)
class Refreshed:
    """What one refresh did."""

    symbols: int
    market_caps: int | None  # symbols given a market cap; None when CoinMarketCap was skipped


async def ensure_indexes(db: Database) -> None:
    """The unique ``symbol`` index (the gateway creates the same one); idempotent."""
    await db[COLLECTION].create_index("symbol", unique=True, name="symbol")


def updates(
    existing: dict[str, dict[str, Any]],
    exchange: dict[str, dict[str, Any]],
    caps: dict[str, float] | None,
    now: dt.datetime,
) -> list[UpdateOne]:
    """The writes that bring ``existing`` documents up to the vendors' data.

    ``exchange`` maps symbol to ``binance_models.symbol_fields``; ``caps`` maps base asset to
    market cap (None: market caps not refreshed).
    """
    ops: list[UpdateOne] = []
    for symbol, fields in exchange.items():
        owned = {k: v for k, v in fields.items() if k not in SHARED}
        shared = {"status": fields["status"]}
        if caps is not None and fields["base_asset"] in caps:
            shared["market_cap"] = caps[fields["base_asset"]]
        owned |= {f"vendor.{k}": v for k, v in shared.items()} | {"refreshed_at": now}
        old = existing.get(symbol)
        if old is None:
            ops.append(UpdateOne({"_id": symbol}, {"$set": owned | shared}, upsert=True))
            continue
        ops.append(UpdateOne({"_id": symbol}, {"$set": owned}, upsert=True))
        last_vendor = old.get("vendor") or {}
        for field, value in shared.items():
            current = old.get(field)
            follows_vendor = current is None or current == last_vendor.get(field)
            if follows_vendor and current != value:
                ops.append(UpdateOne({"_id": symbol, field: current}, {"$set": {field: value}}))
    return ops


async def market_caps(settings: MarketdataSettings) -> dict[str, float] | None:
    """Market caps by base asset, or None (logged) without a key or when CoinMarketCap fails:
    market caps are a nice-to-have, the exchange data is stored regardless."""
    key = settings.cmc_api_key.get_secret_value() if settings.cmc_api_key else ""
    if not key:
        log.info("no KWONT_CMC_API_KEY: market caps not refreshed")
        return None
    try:
        return await coinmarketcap.market_caps(settings.cmc_api_url, key)
    except (coinmarketcap.CmcError, httpx.HTTPError, ValueError) as exc:
        log.warning("CoinMarketCap unavailable, market caps kept as they were: %s", exc)
        return None


async def refresh(settings: MarketdataSettings, db: Database) -> Refreshed:
    """Fetch exchangeInfo, 24h tickers and market caps; upsert what the vendors own.

    Raises:
        aiohttp.ClientError, binance.exceptions.BinanceAPIException: Binance unreachable or
            refusing (nothing is written).
        pydantic.ValidationError: Binance answered in an unexpected format.
        pymongo.errors.PyMongoError: the write failed.
    """
    async with binance_rest.connect(settings) as client:
        info = await binance_rest.exchange_info(client)
        tickers = await binance_rest.tickers(client)
    exchange = {s.symbol: symbol_fields(s, tickers.get(s.symbol)) for s in info.symbols}
    caps = await market_caps(settings)
    projection = {f: 1 for f in (*SHARED, "vendor")}
    existing = {d["_id"]: d async for d in db[COLLECTION].find({}, projection)}
    ops = updates(existing, exchange, caps, dt.datetime.now(dt.UTC))
    if ops:
        await db[COLLECTION].bulk_write(ops, ordered=False)
    capped = None if caps is None else sum(f["base_asset"] in caps for f in exchange.values())
    return Refreshed(len(exchange), capped)
