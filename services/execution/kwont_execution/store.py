"""Mongo state of the execution service: order claims (``exec_orders``) and paper
positions (``paper_positions``).

One ``paper_positions`` document per account and symbol holds the position (or ``side: 0``
when flat), the open time of the last candle checked against its stops, a ``version`` and
``applied``: the last transitions that produced events, as ``{id, key}`` (``key`` names the
message that caused it: ``order:<client id>`` or ``candle:<interval>:<open time>``).

A transition that produces events first writes them to ``paper_journal`` under
``<position>|<new version>|<key>``, then compare-and-sets the position on its version,
adding that id to ``applied``. So the order path and the candle path never fill twice; a
journal document whose id is not in ``applied`` is a transition that lost its race (or
crashed before it) and never happened; a message redelivered after a crash finds its
transition in ``applied`` and re-publishes the journalled events instead of acting again.
The events live outside the position document so that every candle's compare-and-set
rewrites a small document (a position document carrying its events grew to tens of KB
and tripled the candle path's latency).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from kwont_common.events import Event, Fill, Order
from kwont_common.mongo import Database
from kwont_execution.outcomes import event_doc, event_from_doc
from kwont_execution.paper_position import Position

POSITIONS = "paper_positions"
JOURNAL = "paper_journal"
CLAIMS = "exec_orders"
HELD = "paper_held"
"""Order catch-ups whose exit the stop gate held: retried until done (see PaperVenue)."""
APPLIED_KEEP = 16
"""Transitions a position document remembers (redeliveries come within seconds)."""


async def ensure_indexes(db: Database) -> None:
    """The candle path's lookup: positions open on a symbol and interval. Idempotent."""
    await db[POSITIONS].create_index(
        [("symbol", 1), ("interval", 1), ("side", 1)], name="symbol_interval_side"
    )
    await db[JOURNAL].create_index("slot", name="slot")


@dataclass
class Slot:
    """A ``paper_positions`` document as read: the position (None: flat) and its version
    (0: no document yet)."""

    key: str
    version: int
    position: Position | None
    applied: list[dict[str, Any]] = field(default_factory=list)

    def after(self, position: Position | None) -> Slot:
        """This slot as a successful :meth:`PositionStore.commit` of ``position`` left it
        (``applied`` is not carried: it only matters to a fresh read)."""
        return Slot(self.key, self.version + 1, position)

    def journalled(self, key: str, later: bool) -> list[str] | None:
        """Ids of the journalled transitions caused by message ``key`` (and, with ``later``,
        of every transition after the first of them: what a crash may have left
        unpublished), or None when ``key`` caused none."""
        keys = [a["key"] for a in self.applied]
        if key not in keys:
            return None
        if later:
            return [a["id"] for a in self.applied[keys.index(key) :]]
        return [a["id"] for a in self.applied if a["key"] == key]

    def opened_by(self, key: str) -> str | None:
        """The client order id of the entry whose position the transition of message
        ``key`` closed: the transition just before it, when an order made it (a position's
        transitions are its entry, then its exit)."""
        keys = [a["key"] for a in self.applied]
        if key not in keys or keys.index(key) == 0:
            return None
        before = str(keys[keys.index(key) - 1])
        return before.removeprefix("order:") if before.startswith("order:") else None


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
    return Slot(doc["_id"], int(doc.get("version", 0)), _position(doc), doc.get("applied") or [])


class PositionStore:
    """Claims and paper positions in the platform database."""

    def __init__(self, db: Database) -> None:
        self.positions = db[POSITIONS]
        self.journal = db[JOURNAL]
        self.claims = db[CLAIMS]
        self.held = db[HELD]

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
        yet, and documents a transition of that candle was applied to (a redelivery)."""
        query = {
            "symbol": symbol,
            "interval": interval,
            "$or": [
                {"side": {"$ne": 0}, "checked_through": {"$lt": open_time}},
                {"applied.key": key},
            ],
        }
        return [_slot(d) async for d in self.positions.find(query)]

    async def replay(self, slot: Slot, key: str, later: bool = False) -> list[Event] | None:
        """The journalled events of the transitions message ``key`` caused on ``slot`` (see
        :meth:`Slot.journalled`), in order; None when it caused none."""
        wanted = slot.journalled(key, later)
        if wanted is None:
            return None
        docs = {d["_id"]: d async for d in self.journal.find({"_id": {"$in": wanted}})}
        return [event_from_doc(e) for i in wanted if i in docs for e in docs[i]["events"]]

    async def opening(self, slot_key: str, entry_order: str | None) -> list[Event]:
        """The fills of the order that opened a position, as journalled."""
        if entry_order is None:
            return []
        doc = await self.journal.find_one({"slot": slot_key, "key": f"order:{entry_order}"})
        events = [] if doc is None else [event_from_doc(e) for e in doc["events"]]
        return [e for e in events if isinstance(e, Fill)]

    async def hold(self, slot: Slot, through: int) -> None:
        """Remember that ``slot``'s open position must still be checked through the candle
        opening at ``through`` (an order's catch-up the stop gate held)."""
        position = slot.position
        assert position is not None
        await self.held.replace_one(
            {"_id": slot.key},
            {"account": position.account, "symbol": position.symbol,
             "interval": position.interval, "entry_order": position.entry_order,
             "through": through, "at": _now()},
            upsert=True,
        )  # fmt: skip

    async def holds(self) -> list[dict[str, Any]]:
        """Every held catch-up (see :meth:`hold`), oldest first."""
        return await self.held.find({}).sort("at", 1).to_list(None)

    async def release(self, hold: dict[str, Any]) -> None:
        """Forget ``hold`` (not a newer one put in its place meanwhile)."""
        await self.held.delete_one(
            {"_id": hold["_id"], "entry_order": hold["entry_order"], "through": hold["through"]}
        )

    async def advance(self, marks: dict[str, tuple[int, int]]) -> None:
        """Raise the documents' ``checked_through`` to ``{key: (version, open time)}``, each
        only while at that version (no version change: a mark is no transition)."""
        if not marks:
            return
        ops = [
            UpdateOne(
                {"_id": key, "version": version, "checked_through": {"$lt": open_time}},
                {"$set": {"checked_through": open_time}},
            )
            for key, (version, open_time) in marks.items()
        ]
        await self.positions.bulk_write(ops, ordered=False)

    async def commit(
        self,
        slot: Slot,
        position: Position | None,
        *,
        checked_through: int | None = None,
        key: str | None = None,
        events: list[Event] | None = None,
    ) -> bool:
        """Compare-and-set ``slot``'s document to ``position`` (None: flat, with
        ``checked_through`` kept for the candle path); ``events`` (caused by message
        ``key``) are journalled first. False when another writer changed the document
        first."""
        fields: dict[str, Any] = (
            _fields(position) if position is not None else {"side": 0, "quantity": "0"}
        )
        if checked_through is not None:
            fields["checked_through"] = checked_through
        version = slot.version + 1
        fields["version"] = version
        fields["updated_at"] = _now()
        applied: list[dict[str, Any]] = []
        if events:
            if key is None:
                raise ValueError("events need the key of the message that caused them")
            entry_id = f"{slot.key}|{version}|{key}"
            applied = [{"id": entry_id, "key": key}]
            doc = {"slot": slot.key, "version": version, "key": key, "at": fields["updated_at"]}
            doc["events"] = [event_doc(e) for e in events]
            await self.journal.replace_one({"_id": entry_id}, doc, upsert=True)
        if slot.version == 0:
            try:
                await self.positions.insert_one({"_id": slot.key, **fields, "applied": applied})
            except DuplicateKeyError:
                return False
            return True
        update: dict[str, Any] = {"$set": fields}
        if applied:
            update["$push"] = {"applied": {"$each": applied, "$slice": -APPLIED_KEEP}}
        result = await self.positions.update_one({"_id": slot.key, "version": slot.version}, update)
        return result.matched_count == 1


def _now() -> int:
    return time.time_ns() // 1_000_000
