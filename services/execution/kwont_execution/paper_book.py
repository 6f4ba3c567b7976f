"""The paper venue's state as the partition store keeps it: per ``orders`` partition this
replica owns, the open paper positions of its accounts (one per account and symbol, keyed
``account:SYMBOL``) with the events of the order that opened each (an exit goes out after
them: a book must never see an exit before the entry it closes).

Changed by the order path under the order's offset (``PartitionStore.apply``) and by the
candle path once its exit's events are acknowledged and stored (a deterministic
consequence of the positions and the candles, re-derived by reading the candles again).
Snapshots go to ``execution_state`` (``{_id: "<group>:<p>", state, offsets}``).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from kwont_common.events import Event
from kwont_execution.outcomes import event_doc, event_from_doc
from kwont_execution.paper_position import Position

COLLECTION = "execution_state"
ANSWERED_KEEP = 1000
"""Client order ids a partition remembers as answered: a copy of an order within this many
later orders of its partition is dropped (risk republishes an order after a crash or a
rebalance under the same id, within seconds)."""


@dataclass(frozen=True)
class Record:
    """An open position and the events of the order that opened it."""

    position: Position
    opening: tuple[Event, ...] = ()


@dataclass
class Book:
    """The open paper positions of one ``orders`` partition."""

    slots: dict[str, Record] = field(default_factory=dict)
    answered: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def answer(self, client_order_id: str) -> None:
        """Remember an order as answered (its copies are dropped)."""
        self.answered[client_order_id] = None
        while len(self.answered) > ANSWERED_KEEP:
            self.answered.popitem(last=False)

    def get(self, key: str) -> Record | None:
        """The record of ``key``'s open position, or None."""
        return self.slots.get(key)

    def put(self, key: str, record: Record | None) -> None:
        """Open (or change) ``key``'s position; None: it is flat."""
        if record is None:
            self.slots.pop(key, None)
        else:
            self.slots[key] = record

    def checked(self, key: str, entry_order: str, open_time: int) -> None:
        """Raise the checked-through mark of ``key``'s position (still the one opened by
        ``entry_order``) to ``open_time``: a candle that fired nothing."""
        record = self.slots.get(key)
        if record is None or record.position.entry_order != entry_order:
            return
        if record.position.checked_through < open_time:
            moved = replace(record.position, checked_through=open_time)
            self.slots[key] = Record(moved, record.opening)

    def watching(self, symbol: str, interval: str, open_time: int) -> Iterator[str]:
        """Keys of the positions on ``symbol``/``interval`` that have not seen the candle
        opening at ``open_time``."""
        for key, record in list(self.slots.items()):
            p = record.position
            if p.symbol == symbol and p.interval == interval and p.checked_through < open_time:
                yield key


def slot_key(account: str, symbol: str) -> str:
    """The book key of ``account``'s position in ``symbol``."""
    return f"{account}:{symbol}"


def dump(book: Book) -> dict[str, Any]:
    """The snapshot document of ``book`` (plain BSON types, sharing nothing with it)."""
    return {
        "positions": [
            {"key": key, **position_doc(r.position), "opening": [event_doc(e) for e in r.opening]}
            for key, r in sorted(book.slots.items())
        ],
        "answered": list(book.answered),
    }


def load(doc: dict[str, Any]) -> Book:
    """The book of a snapshot document from :func:`dump`."""
    return Book(
        {
            d["key"]: Record(position_of(d), tuple(event_from_doc(e) for e in d["opening"]))
            for d in doc.get("positions", [])
        },
        OrderedDict.fromkeys(doc.get("answered", [])),
    )


def position_doc(position: Position) -> dict[str, Any]:
    """The snapshot fields of ``position`` (decimals and the correlation id as strings)."""
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
        "opened_at": position.opened_at,
        "funding": str(position.funding),
        "funded_through": position.funded_through,
    }


def position_of(doc: dict[str, Any]) -> Position:
    """The position of a :func:`position_doc` document (leverage 1, no funding if absent)."""
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
        opened_at=int(doc.get("opened_at", 0)),
        funding=Decimal(doc.get("funding", "0")),
        funded_through=int(doc.get("funded_through", -1)),
    )
