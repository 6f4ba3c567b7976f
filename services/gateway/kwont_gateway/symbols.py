"""Tradable symbols (collection ``symbols`` of the platform database, refreshed by marketdata).

Document: ``{_id: symbol, symbol, base_asset, quote_asset, status, volume_24h, market_cap,
filters, ...metadata}``.
"""

from __future__ import annotations

from typing import Any

from kwont_common.mongo import Database
from kwont_gateway.errors import invalid, not_found

MAX_SYMBOLS = 500


def query(
    quote_asset: str | None = None,
    status: str | None = None,
    min_volume_24h: float | None = None,
    min_market_cap: float | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    """The Mongo filter of a symbol filter."""
    q: dict[str, Any] = {}
    if quote_asset:
        q["quote_asset"] = quote_asset.upper()
    if status:
        q["status"] = status.upper()
    if min_volume_24h is not None:
        q["volume_24h"] = {"$gte": min_volume_24h}
    if min_market_cap is not None:
        q["market_cap"] = {"$gte": min_market_cap}
    if search:
        q["symbol"] = {"$regex": "^" + "".join(c for c in search.upper() if c.isalnum())}
    return q


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A symbols document as the API shows it (SymbolPublic)."""
    return {
        "symbol": doc.get("symbol") or doc["_id"],
        "base_asset": doc.get("base_asset"),
        "quote_asset": doc.get("quote_asset"),
        "status": doc.get("status"),
        "volume_24h": doc.get("volume_24h"),
        "market_cap": doc.get("market_cap"),
        "filters": doc.get("filters") or {},
        "tags": doc.get("tags") or [],
        "description": doc.get("description"),
    }


async def find(
    db: Database, q: dict[str, Any], limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Symbols matching ``q``, by 24h volume (largest first)."""
    cursor = db.symbols.find(q).sort([("volume_24h", -1), ("symbol", 1)]).skip(offset).limit(limit)
    return [public(d) async for d in cursor]


async def get(db: Database, symbol: str) -> dict[str, Any]:
    """The symbol (upper-cased) as the API shows it; a 404 when it is unknown."""
    doc = await db.symbols.find_one({"symbol": symbol.upper()})
    if doc is None:
        raise not_found("symbol", symbol)
    return public(doc)


async def patch(db: Database, symbol: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Admin edit of metadata (tags, description, status, market cap)."""
    if not changes:
        return await get(db, symbol)
    doc = await db.symbols.find_one_and_update(
        {"symbol": symbol.upper()}, {"$set": changes}, return_document=True
    )
    if doc is None:
        raise not_found("symbol", symbol)
    return public(doc)


async def resolve(
    db: Database, symbols: list[str] | None, q: dict[str, Any] | None, limit: int
) -> list[str]:
    """The explicit list, or the symbols a filter selects (largest volume first).

    Raises:
        ApiError: 422 when neither or both are given, or the filter selects nothing.
    """
    if bool(symbols) == (q is not None):
        raise invalid("give either symbols or symbol_filter", "symbols")
    if symbols:
        return list(dict.fromkeys(s.upper() for s in symbols))
    found = [s["symbol"] for s in await find(db, q or {}, limit=min(limit, MAX_SYMBOLS))]
    if not found:
        raise invalid("symbol_filter selects no symbol", "symbol_filter")
    return found
