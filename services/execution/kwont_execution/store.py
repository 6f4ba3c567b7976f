"""Mongo state of the execution service: order claims (``exec_orders``) and paper
positions (``paper_positions``).

One ``paper_positions`` document per account and symbol holds the position (or ``side: 0``
when flat), the open time of the last candle checked against its stops, a ``version`` and
a short ``journal`` of the events each transition produced. A transition is one
compare-and-set on the version that writes the new state and its events together, so the
order path and the candle path never fill twice, and a message redelivered after a crash
finds its events in the journal (by key ``order:<client id>`` or
``candle:<interval>:<open time>``) instead of acting again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kwont_common.events import Event, Order
from kwont_common.mongo import Database
from kwont_execution.outcomes import event_doc, event_from_doc
from kwont_execution.paper import Position

POSITIONS = "paper_positions"
CLAIMS = "exec_orders"
JOURNAL_KEEP = 32
"""Transitions a position document remembers (redeliveries come within seconds)."""


async def ensure_indexes(db: Database) -> None:
    """The candle path's lookup: positions open on a symbol and interval. Idempotent."""
    await db[POSITIONS].create_index(
        [("symbol", 1), ("interval", 1), ("side", 1)], name="symbol_interval_side"
    )


@dataclass
class Slot:
    """A ``paper_positions`` document as read: the position (None: flat) and its version
    (0: no document yet)."""

    key: str
    version: int
    position: Position | None
    journal: list[dict[str, Any]] = field(default_factory=list)

    def after(self, position: Position | None) -> Slot:
        """This slot as a successful :meth:`PositionStore.commit` of ``position`` left it
        (the journal is not carried: it only matters to a fresh read)."""
        return Slot(self.key, self.version + 1, position)

    def replay(self, key: str) -> list[Event] | None:
        """The events of the journal entry ``key`` and of every later entry, or None when
        ``key`` is not in the journal. Later entries come too: they may be what a crash
        left unpublished (re-publishing is harmless: same event ids)."""
        keys = [e["key"] for e in self.journal]
        if key not in keys:
            return None
        return [event_from_doc(d) for e in self.journal[keys.index(key) :] for d in e["events"]]


def slot_key(account: str, symbol: str) -> str:
    return f"{account}:{symbol}"


def _position(doc: dict[str, Any]) -> Position | None:
    if not doc.get("side"):
        return None
    return Position(
        account=doc["account"],
        symbol=doc["symbol"],
        side=int(doc["side"]),
        quantity=Decimal(doc["quantity"]),
        entry_price=Decimal(doc["entry_price"]),
        stop_loss=doc.get("stop_loss"),
        take_profit=doc.get("take_profit"),
        liquidation=float(doc["liquidation"]),
        interval=doc["interval"],
        checked_through=int(doc["checked_through"]),
        correlation_id=uuid.UUID(doc["correlation_id"]),
        entry_order=doc["entry_order"],
        sl_order=doc["sl_order"],
        tp_order=doc["tp_order"],
        leverage=int(doc.get("leverage", 1)),
    )


def _fields(position: Position) -> dict[str, Any]:
    return {
        "account": position.account,
        "symbol": position.symbol,
        "side": position.side,
        "quantity": str(position.quantity),
        "entry_price": str(position.entry_price),
        "stop_loss": position.stop_loss,
        "take_profit": position.take_profit,
        "liquidation": position.liquidation,
        "interval": position.interval,
        "checked_through": position.checked_through,
        "correlation_id": str(position.correlation_id),
        "entry_order": position.entry_order,
        "sl_order": position.sl_order,
        "tp_order": position.tp_order,
        "leverage": position.leverage,
    }


def _slot(doc: dict[str, Any]) -> Slot:
    return Slot(doc["_id"], int(doc.get("version", 0)), _position(doc), doc.get("journal") or [])


class PositionStore:
    """Claims and paper positions in the platform database."""

    def __init__(self, db: Database) -> None:
        self.positions = db[POSITIONS]
        self.claims = db[CLAIMS]

    async def claim(self, order: Order) -> dict[str, Any] | None:
        """Claim ``order`` under its client order id. Returns the earlier claim when there
        is one (a redelivery: it holds ``outcome`` once the order was answered), None when
        this call made the claim."""
        now = time.time_ns() // 1_000_000
        doc: dict[str, Any] | None = await self.claims.find_one_and_update(
            {"_id": order.client_order_id},
            {
                "$setOnInsert": {
                    "venue": order.venue,
                    "account": order.account,
                    "symbol": order.symbol,
                    "correlation_id": str(order.correlation_id),
                    "order": order.model_dump(mode="json"),
                    "claimed_at": now,
                }
            },
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        return doc

    async def finish(self, client_order_id: str, events: list[Event]) -> None:
        """Store the answer to a claimed order (what a redelivery re-publishes)."""
        await self.claims.update_one(
            {"_id": client_order_id},
            {"$set": {"outcome": [event_doc(e) for e in events], "done_at": _now()}},
        )

    async def load(self, account: str, symbol: str) -> Slot:
        key = slot_key(account, symbol)
        doc = await self.positions.find_one({"_id": key})
        return Slot(key, 0, None) if doc is None else _slot(doc)

    async def watching(self, symbol: str, interval: str, open_time: int, key: str) -> list[Slot]:
        """Positions on ``symbol`` whose stops have not seen the candle at ``open_time``
        yet, and documents whose journal already holds that candle (a redelivery)."""
        query = {
            "symbol": symbol,
            "interval": interval,
            "$or": [
                {"side": {"$ne": 0}, "checked_through": {"$lt": open_time}},
                {"journal.key": key},
            ],
        }
        return [_slot(d) async for d in self.positions.find(query)]

    async def commit(
        self,
        slot: Slot,
        position: Position | None,
        *,
        checked_through: int | None = None,
        journal_key: str | None = None,
        events: list[Event] | None = None,
    ) -> bool:
        """Compare-and-set ``slot``'s document to ``position`` (None: flat, with
        ``checked_through`` kept for the candle path), journalling ``events`` under
        ``journal_key``. False when another writer changed the document first."""
        fields: dict[str, Any] = (
            _fields(position) if position is not None else {"side": 0, "quantity": "0"}
        )
        if checked_through is not None:
            fields["checked_through"] = checked_through
        fields["version"] = slot.version + 1
        fields["updated_at"] = _now()
        entry = {"key": journal_key, "events": [event_doc(e) for e in events or []]}
        if slot.version == 0:
            doc = {"_id": slot.key, **fields}
            doc["journal"] = [entry] if journal_key else []
            try:
                await self.positions.insert_one(doc)
            except DuplicateKeyError:
                return False
            return True
        update: dict[str, Any] = {"$set": fields}
        if journal_key:
            update["$push"] = {"journal": {"$each": [entry], "$slice": -JOURNAL_KEEP}}
        result = await self.positions.update_one({"_id": slot.key, "version": slot.version}, update)
        return result.matched_count == 1


def _now() -> int:
    return time.time_ns() // 1_000_000
