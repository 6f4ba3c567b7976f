"""Collection ``binance_orders``: one claim per client order id, written before any call to
the exchange, so a re-delivered order asks Binance what became of it instead of placing it
again. A claim remembers what the exchange needs to be asked (symbol, kind: ``market`` order
or ``algo`` conditional order) and what events need (account, correlation id, leg)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pymongo.errors import DuplicateKeyError

from kwont_common.events import Order
from kwont_common.trading import ids

CLAIMS = "binance_orders"
Kind = Literal["market", "algo"]
#: Claim statuses after which nothing more will happen at the exchange.
DONE = {"FILLED", "CANCELED", "REJECTED", "EXPIRED", "FINISHED"}


def new_claim(order: Order, coid: str, leg: str, kind: Kind, side: str, quantity: Decimal,
              reduce_only: bool, parent: str | None = None,
              order_type: str = "MARKET") -> dict[str, Any]:  # fmt: skip
    """The ``CLAIMED`` document for leg ``leg`` of ``order`` under client order id ``coid``."""
    return {
        "_id": coid, "leg": leg, "kind": kind, "order_type": order_type,
        "account": order.account, "symbol": order.symbol,
        "correlation_id": str(order.correlation_id), "signal_id": str(order.signal_id),
        "side": side, "quantity": format(quantity, "f"), "reduce_only": reduce_only,
        "parent": parent, "status": "CLAIMED", "created_at": datetime.now(UTC),
    }  # fmt: skip


async def claim(db: Any, doc: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """``(True, doc)`` if this call claimed the id, else ``(False, the existing claim)``."""
    try:
        await db[CLAIMS].insert_one(doc)
        return True, doc
    except DuplicateKeyError:
        existing = await db[CLAIMS].find_one({"_id": doc["_id"]})
        assert existing is not None
        return False, existing


async def update(db: Any, coid: str, **fields: Any) -> None:
    """Set ``fields`` on the claim ``coid`` (no-op if there is none)."""
    await db[CLAIMS].update_one({"_id": coid}, {"$set": fields})


async def find(db: Any, coid: str) -> dict[str, Any] | None:
    """The claim with client order id ``coid``, or None."""
    doc: dict[str, Any] | None = await db[CLAIMS].find_one({"_id": coid})
    return doc


async def by_venue_order(db: Any, symbol: str, order_id: Any) -> dict[str, Any] | None:
    """The claim whose conditional order became matching-engine order ``order_id``."""
    doc: dict[str, Any] | None = await db[CLAIMS].find_one(
        {"symbol": symbol, "actual_order_id": str(order_id)}
    )
    return doc


async def open_protective(db: Any, account: str, symbol: str) -> list[dict[str, Any]]:
    """Stop-loss / take-profit claims of ``account:symbol`` not known to be done."""
    cursor = db[CLAIMS].find({"account": account, "symbol": symbol, "leg": {"$in": ["sl", "tp"]},
                              "status": {"$nin": sorted(DONE)}})  # fmt: skip
    return [doc async for doc in cursor]


async def unsettled(db: Any) -> list[dict[str, Any]]:
    """Every claim not known to be done (what a restart must ask the exchange about)."""
    return [doc async for doc in db[CLAIMS].find({"status": {"$nin": sorted(DONE)}})]


def sibling_of(doc: dict[str, Any]) -> str | None:
    """Client order id of the other protective leg of the same signal."""
    other = {"sl": "tp", "tp": "sl"}.get(doc["leg"])
    if other is None:
        return None
    return ids.client_order_id(uuid.UUID(doc["signal_id"]), other)
