"""What an order or a candle led to, stored for the API and for redeliveries.

- ``orders``: one document per client order id with its latest status (the last
  ``OrderUpdate`` as JSON, plus the order's own fields and the account's ``owner``); a
  late copy of an earlier status never overwrites a later one.
- ``fills``: one document per fill, ``_id`` = ``<venue>:<trade_id>``, the ``Fill`` as JSON
  plus ``owner``; written once.

Both carry ``stored_at`` (wall clock, epoch ms): with a candle's ``produced_at`` it gives
the pipeline latency from candle to stored fill.

Events are stored before they are published, and kept in journals and claims as
``{"topic", "event"}`` documents so a redelivery re-publishes them unchanged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from kwont_common.events import Event, Fill, Order, OrderUpdate
from kwont_common.mongo import Database
from kwont_common.topics import topic, topic_of

ORDERS = "orders"
FILLS = "fills"
_RANK = {"NEW": 0, "PARTIALLY_FILLED": 1}
_DUPLICATE_KEY = 11000


def event_doc(event: Event) -> dict[str, Any]:
    """An event as stored in a journal or a claim."""
    return {"topic": topic_of(type(event)).name, "event": event.model_dump(mode="json")}


def event_from_doc(doc: dict[str, Any]) -> Event:
    """The event of :func:`event_doc` (identical ids, times and fields)."""
    return topic(doc["topic"]).model.model_validate(doc["event"])


def order_fields(order: Order) -> dict[str, Any]:
    """The order's own fields kept beside its latest status."""
    data = order.model_dump(mode="json")
    keep = ("side", "order_type", "quantity", "reduce_only", "leverage", "signal_id")
    return {k: data[k] for k in (*keep, "reference_price", "interval") if k in data}


async def store(
    db: Database, events: list[Event], owner: str | None, order: Order | None = None
) -> None:
    """Write the fills and the latest order statuses of ``events`` (idempotent)."""
    fills = [e for e in events if isinstance(e, Fill)]
    updates = [e for e in events if isinstance(e, OrderUpdate)]
    stored_at = time.time_ns() // 1_000_000  # wall clock, for latency figures
    writes = []
    if fills:
        writes.append(write(db[FILLS], [fill_op(f, owner, stored_at) for f in fills]))
    if updates:
        extra = {order.client_order_id: order_fields(order)} if order is not None else {}
        ops = [update_op(u, owner, extra.get(u.client_order_id, {}), stored_at) for u in updates]
        writes.append(write(db[ORDERS], ops))
    await asyncio.gather(*writes)


def fill_op(fill: Fill, owner: str | None, stored_at: int) -> UpdateOne:
    """Insert of ``fill`` keyed ``venue:trade_id``; a copy of a stored fill changes nothing."""
    doc = {**fill.model_dump(mode="json"), "owner": owner, "stored_at": stored_at}
    return UpdateOne({"_id": f"{fill.venue}:{fill.trade_id}"}, {"$setOnInsert": doc}, upsert=True)


def update_op(
    update: OrderUpdate, owner: str | None, extra: dict[str, Any], stored_at: int
) -> UpdateOne:
    """Upsert of ``update`` that replaces a stored status only of equal or lower rank."""
    rank = _RANK.get(update.status, 2)
    doc = {**extra, **update.model_dump(mode="json"), "owner": owner, "rank": rank}
    doc["stored_at"] = stored_at
    # Upsert only over a lower or equal status: a stale copy finds no match, its insert
    # hits the existing _id and is dropped (see :func:`write`).
    return UpdateOne(
        {"_id": update.client_order_id, "rank": {"$lte": rank}}, {"$set": doc}, upsert=True
    )


async def write(collection: Any, ops: list[UpdateOne]) -> None:
    """Run ``ops`` unordered; duplicate keys (stale copies) pass, other errors raise."""
    try:
        await collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != _DUPLICATE_KEY for e in errors) or not errors:
            raise
