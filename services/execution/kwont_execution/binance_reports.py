"""Binance answers and user-data events turned into our ``OrderUpdate`` / ``Fill`` events,
and stored for the API: ``orders`` (latest status per client order id) and ``fills``
(``_id`` = ``binance:<trade id>``), each with the account's ``owner``.

Both the REST path (``handle``) and the user-data stream see the same trades and status
changes; ``record`` stores each once and says whether it was new, so only the first sighting
is published (ids are deterministic, so a second publication would be dropped downstream
anyway). A status never goes backwards: a late ``NEW`` after ``FILLED`` is ignored.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

from pymongo.errors import DuplicateKeyError

from kwont_common.events import Event, Fill, OrderUpdate, now_ms
from kwont_common.events.fills import ExitReason
from kwont_common.trading import ids
from kwont_common.trading.accounts import owner_of
from kwont_common.trading.exchange import to_decimal

ORDERS = "orders"
FILLS = "fills"
SOURCE = "execution"
EXIT_REASONS: dict[str, ExitReason] = {"sl": "stop_loss", "tp": "take_profit", "x": "signal"}
#: Binance algo (conditional) order statuses as order statuses; the others are transitions.
ALGO_STATUS = {"NEW": "NEW", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED", "REJECTED": "REJECTED"}
FINAL = {"FILLED", "CANCELED", "REJECTED", "EXPIRED", "EXPIRED_IN_MATCH", "FINISHED"}


def _rank(status: str) -> int:
    return {"NEW": 0, "PARTIALLY_FILLED": 1}.get(status, 2)


def _dec(value: Any) -> Decimal:
    return to_decimal(value or "0")


def _flow(claim: dict[str, Any], event_time: int) -> dict[str, Any]:
    return {
        "event_time": event_time, "source": SOURCE, "account": claim["account"],
        "symbol": claim["symbol"], "correlation_id": uuid.UUID(claim["correlation_id"]),
        "client_order_id": claim["_id"], "venue": "binance",
    }  # fmt: skip


def order_update(claim: dict[str, Any], status: str, filled: Any = 0, average: Any = None,
                 venue_order_id: Any = None, reason: str | None = None,
                 event_time: int | None = None) -> OrderUpdate:  # fmt: skip
    """An ``OrderUpdate`` of the order ``claim`` describes (status names as Binance's)."""
    if status == "EXPIRED_IN_MATCH":
        status = "EXPIRED"
    avg = _dec(average)
    qty = _dec(filled)
    return OrderUpdate(
        **_flow(claim, event_time or now_ms()),
        event_id=ids.event_id("binance", claim["_id"], status, format(qty.normalize(), "f")),
        venue_order_id=None if venue_order_id in (None, "") else str(venue_order_id),
        status=status, filled_quantity=qty, average_price=avg if avg > 0 else None,
        reason=reason,
    )  # fmt: skip


def from_order(claim: dict[str, Any], o: dict[str, Any]) -> OrderUpdate:
    """From a REST order (``POST/GET /fapi/v1/order``)."""
    return order_update(claim, o["status"], o.get("executedQty"), o.get("avgPrice"),
                        o.get("orderId"), event_time=o.get("updateTime"))  # fmt: skip


def fill(claim: dict[str, Any], trade_id: Any, side: str, qty: Any, price: Any, fee: Any,
         fee_asset: str | None, event_time: int) -> Fill:  # fmt: skip
    """A ``Fill`` of one Binance trade of the order ``claim`` describes."""
    return Fill(
        **_flow(claim, event_time),
        event_id=ids.event_id("binance", trade_id), trade_id=str(trade_id), side=side,
        quantity=_dec(qty), price=_dec(price), fee=abs(_dec(fee)), fee_asset=fee_asset or "USDT",
        reduce_only=bool(claim.get("reduce_only")), exit_reason=EXIT_REASONS.get(claim["leg"]),
    )  # fmt: skip


def from_trade(claim: dict[str, Any], t: dict[str, Any]) -> Fill:
    """From a REST trade (``GET /fapi/v1/userTrades``)."""
    return fill(claim, t["id"], t["side"], t["qty"], t["price"], t["commission"],
                t.get("commissionAsset"), int(t["time"]))  # fmt: skip


def from_stream(claim: dict[str, Any], msg: dict[str, Any]) -> list[Event]:
    """From an ``ORDER_TRADE_UPDATE``: the trade it reports (if any), then the status."""
    o = msg["o"]
    out: list[Event] = []
    if o.get("x") == "TRADE":
        out.append(fill(claim, o["t"], o["S"], o["l"], o["L"], o.get("n"), o.get("N"),
                        int(o.get("T") or msg["E"])))  # fmt: skip
    out.append(order_update(claim, o["X"], o.get("z"), o.get("ap"), o.get("i"),
                            event_time=int(msg["E"])))  # fmt: skip
    return out


def from_algo(claim: dict[str, Any], a: dict[str, Any], event_time: int | None = None,
              reason: str | None = None) -> OrderUpdate | None:  # fmt: skip
    """From an algo order (REST ``algoOrder`` or an ``ALGO_UPDATE``'s ``o``, whose short
    names are accepted too); None for a transition that is not an order status."""
    status = ALGO_STATUS.get(a.get("algoStatus") or a.get("X") or "")
    if status is None:
        return None
    return order_update(claim, status, 0, None, a.get("algoId") or a.get("aid"),
                        reason=reason or a.get("rm") or None, event_time=event_time)  # fmt: skip


async def record(db: Any, events: list[Event]) -> list[Event]:
    """Store ``events`` in ``orders`` / ``fills``; return those not stored before."""
    owners: dict[str, str | None] = {}
    fresh: list[Event] = []
    for event in events:
        if not isinstance(event, OrderUpdate | Fill):
            continue
        if event.account not in owners:
            owners[event.account] = await owner_of(db, event.account)
        doc = {**event.model_dump(mode="json"), "owner": owners[event.account],
               "stored_at": time.time_ns() // 1_000_000}  # fmt: skip
        if isinstance(event, Fill):
            result = await db[FILLS].update_one(
                {"_id": f"binance:{event.trade_id}"}, {"$setOnInsert": doc}, upsert=True
            )
            if result.upserted_id is not None:
                fresh.append(event)
            continue
        rank, filled = _rank(event.status), float(event.filled_quantity)
        doc.update(rank=rank, filled=filled)
        ahead = {"$or": [{"rank": {"$lt": rank}}, {"rank": rank, "filled": {"$lt": filled}}]}
        try:
            await db[ORDERS].update_one({"_id": event.client_order_id, **ahead}, {"$set": doc},
                                        upsert=True)  # fmt: skip
        except DuplicateKeyError:
            continue  # stored already with this status or a later one
        fresh.append(event)
    return fresh
