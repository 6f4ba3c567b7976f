"""An account's book from its fills: cash, positions (side, quantity, average entry),
realised PnL, fees and funding, in exact Decimal. Risk, the paper venue and portfolio each keep one
(risk for limits and sizing, portfolio for snapshots), built by the same code so they agree.

Cash follows the backtest engine: the entry fee is paid at entry, realised PnL and the
exit fee at exit; margin is not moved out of cash (isolated margin is a limit, not a
transfer). Funding comes off cash when paid (:meth:`Ledger.pay_funding`), its own line per
position (``funding``) and in the totals (``funding_paid``), never in realised PnL: net PnL
= realised - fees - funding. Equity = cash + unrealised PnL at the marks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kwont_common.events import Fill

ZERO = Decimal(0)


@dataclass
class PositionBook:
    """One open position. ``side`` is 1 (long) or -1 (short). ``cost`` is the sum of
    price x quantity of the fills that built it (exact), so the average entry, and the PnL
    of closing it all, do not depend on the order its fills were booked in."""

    side: int
    quantity: Decimal
    average_entry: Decimal
    leverage: int = 1
    opened_at: int = 0
    correlation_id: str | None = None
    realized_pnl: Decimal = ZERO
    cost: Decimal | None = None
    funding: Decimal = ZERO
    """Funding paid by this position so far (< 0: received)."""

    def __post_init__(self) -> None:
        if self.cost is None:
            self.cost = self.average_entry * self.quantity

    def close(self, price: Decimal, quantity: Decimal) -> Decimal:
        """Take ``quantity`` off at ``price``; the realised PnL."""
        assert self.cost is not None
        if quantity >= self.quantity:
            realized = self.side * (price * self.quantity - self.cost)
            self.quantity, self.cost = ZERO, ZERO
        else:
            realized = self.side * (price - self.average_entry) * quantity
            self.quantity -= quantity
            self.cost = self.average_entry * self.quantity
        self.realized_pnl += realized
        return realized

    def add(self, price: Decimal, quantity: Decimal) -> None:
        """Add quantity at price to the position, moving its average entry."""
        assert self.cost is not None
        self.cost += price * quantity
        self.quantity += quantity
        self.average_entry = self.cost / self.quantity

    def unrealized(self, mark: Decimal) -> Decimal:
        """The open PnL at mark, signed by the position's side."""
        return self.side * (mark - self.average_entry) * self.quantity

    def notional(self, mark: Decimal | None = None) -> Decimal:
        """The position's size in quote currency at mark, else at its average entry."""
        return self.quantity * (mark if mark is not None else self.average_entry)


@dataclass
class Booked:
    """What one fill did: realised PnL, and whether it opened or closed a position."""

    realized: Decimal
    opened: bool
    closed: bool


@dataclass
class Ledger:
    """The book of one account."""

    cash: Decimal
    positions: dict[str, PositionBook] = field(default_factory=dict)
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    funding_paid: Decimal = ZERO

    def pay_funding(self, symbol: str, paid: Decimal) -> None:
        """Book one funding payment of the ``symbol`` position (``paid`` < 0: received):
        off cash, into the totals and, while it is open, the position's line."""
        self.cash -= paid
        self.funding_paid += paid
        pos = self.positions.get(symbol)
        if pos is not None:
            pos.funding += paid

    def apply(self, fill: Fill, leverage: int = 1) -> Booked:
        """Book one fill. Buying adds to a long or reduces a short (and the mirror for
        selling); a fill larger than the position reverses it, unless it is reduce-only,
        in which case the excess is ignored."""
        side = 1 if fill.side == "BUY" else -1
        qty, price = fill.quantity, fill.price
        pos = self.positions.get(fill.symbol)
        realized = ZERO
        opened = closed = False
        if pos is not None and pos.side != side:
            closing = min(qty, pos.quantity)
            realized = pos.close(price, closing)
            pos.correlation_id = str(fill.correlation_id)
            qty -= closing
            if pos.quantity == 0:
                del self.positions[fill.symbol]
                closed = True
                pos = None
            if fill.reduce_only:
                qty = ZERO
        if qty > 0 and not (fill.reduce_only and pos is None):
            if pos is None:
                self.positions[fill.symbol] = PositionBook(
                    side, qty, price, leverage, fill.event_time, str(fill.correlation_id)
                )
                opened = True
            else:
                pos.add(price, qty)
                pos.correlation_id = str(fill.correlation_id)
        self.cash += realized - fill.fee
        self.realized_pnl += realized
        self.fees_paid += fill.fee
        return Booked(realized, opened, closed)

    def unrealized(self, marks: dict[str, Decimal]) -> Decimal:
        """Unrealised PnL at ``marks`` (a position without a mark counts zero)."""
        return sum((p.unrealized(marks[s]) for s, p in self.positions.items() if s in marks), ZERO)

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        """Cash plus the open PnL of every position at marks."""
        return self.cash + self.unrealized(marks)

    def to_doc(self) -> dict[str, Any]:
        """Mongo form (Decimals as strings: exact, and SecantusDB-safe)."""
        return {
            "cash": str(self.cash),
            "realized_pnl": str(self.realized_pnl),
            "fees_paid": str(self.fees_paid),
            "funding_paid": str(self.funding_paid),
            "positions": {
                s: {
                    "side": p.side,
                    "quantity": str(p.quantity),
                    "average_entry": str(p.average_entry),
                    "leverage": p.leverage,
                    "opened_at": p.opened_at,
                    "correlation_id": p.correlation_id,
                    "realized_pnl": str(p.realized_pnl),
                    "cost": str(p.cost),
                    "funding": str(p.funding),
                }
                for s, p in self.positions.items()
            },
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Ledger:
        """Read back what to_doc wrote."""
        return cls(
            cash=Decimal(doc["cash"]),
            realized_pnl=Decimal(doc.get("realized_pnl", "0")),
            fees_paid=Decimal(doc.get("fees_paid", "0")),
            funding_paid=Decimal(doc.get("funding_paid", "0")),
            positions={
                s: PositionBook(
                    int(p["side"]),
                    Decimal(p["quantity"]),
                    Decimal(p["average_entry"]),
                    int(p.get("leverage", 1)),
                    int(p.get("opened_at", 0)),
                    p.get("correlation_id"),
                    Decimal(p.get("realized_pnl", "0")),
                    Decimal(p["cost"]) if "cost" in p else None,
                    Decimal(p.get("funding", "0")),
                )
                for s, p in (doc.get("positions") or {}).items()
            },
        )
