"""What an account's portfolio looks like at its marks: positions, balances, PnL and equity
(pure: Decimal money in, a ``PortfolioSnapshot`` out), and the marks themselves.

A mark is the latest known price of a symbol. Fills, ticks and candles all carry one; the
newest wins, by ``(event time, rank, seq, price)``: at equal times a candle's close beats a
tick, a tick beats a fill price, a later trade id beats an earlier one, and the price settles
what is left. A total order, so the marks an account ends with do not depend on the order in
which the fills and market-data consumers happened to see their messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kwont_common.events import Balance, Candle, Fill, PortfolioSnapshot, Position, Tick
from kwont_common.trading.exchange import to_decimal
from kwont_common.trading.ids import event_id
from kwont_common.trading.ledger import ZERO, Ledger

RANK_FILL, RANK_TICK, RANK_CANDLE = 0, 1, 2
SOURCE = "portfolio"


@dataclass(frozen=True)
class Mark:
    """A symbol's price at ``time`` (epoch ms) and where it came from."""

    price: Decimal
    time: int
    rank: int = RANK_CANDLE
    seq: int = 0

    def key(self) -> tuple[int, int, int, Decimal]:
        """The sort key of the newest-wins order: ``(time, rank, seq, price)``."""
        return (self.time, self.rank, self.seq, self.price)

    def newer_than(self, other: Mark | None) -> bool:
        """Whether this mark beats ``other`` (any mark beats None)."""
        return other is None or self.key() > other.key()

    def to_doc(self) -> dict[str, Any]:
        """The mark as a document (the price as a string)."""
        return {"price": str(self.price), "time": self.time, "rank": self.rank, "seq": self.seq}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Mark:
        """The mark :meth:`to_doc` wrote."""
        return cls(Decimal(doc["price"]), int(doc["time"]), int(doc["rank"]), int(doc["seq"]))


def mark_of_candle(candle: Candle) -> Mark:
    """The candle's close at its close time (the highest rank)."""
    # str() of a float is its shortest round-trip form: 101.5 -> Decimal("101.5"), no noise.
    return Mark(to_decimal(candle.close), candle.close_time, RANK_CANDLE)


def mark_of_tick(tick: Tick) -> Mark:
    """The tick's price at its event time, ordered by trade id."""
    return Mark(to_decimal(tick.price), tick.event_time, RANK_TICK, tick.trade_id)


def mark_of_fill(fill: Fill) -> Mark:
    """The fill's price at its event time (the lowest rank)."""
    return Mark(fill.price, fill.event_time, RANK_FILL)


def marks_from_doc(doc: dict[str, Any]) -> dict[str, Mark]:
    """The marks by symbol in a document's ``marks`` field (none when it is missing)."""
    return {s: Mark.from_doc(m) for s, m in (doc.get("marks") or {}).items()}


def marks_to_doc(marks: dict[str, Mark]) -> dict[str, Any]:
    """The marks as a document's ``marks`` field, by symbol in order."""
    return {s: m.to_doc() for s, m in sorted(marks.items())}


def merge(marks: dict[str, Mark], new: dict[str, Mark], ledger: Ledger) -> dict[str, Mark]:
    """``marks`` updated with the newer of ``new``, kept to the symbols ``ledger`` holds (a
    closed position forgets its mark, so a late candle of it cannot change the state)."""
    out = {s: m for s, m in marks.items() if s in ledger.positions}
    for symbol, mark in new.items():
        if symbol in ledger.positions and mark.newer_than(out.get(symbol)):
            out[symbol] = mark
    return out


def fill_snapshot_id(account: str, fill_key: str) -> uuid.UUID:
    """The id of the snapshot ``account`` publishes after booking the fill ``fill_key``
    (venue:trade id): a replay of the fill publishes the same."""
    return event_id("snapshot", account, fill_key)


def funding_snapshot_id(account: str, payment_key: str) -> uuid.UUID:
    """The id of the snapshot ``account`` publishes after booking the funding payment
    ``payment_key`` (venue:position:funding time)."""
    return event_id("snapshot", account, "funding", payment_key)


def mark_snapshot_id(account: str, symbol: str, mark: Mark) -> uuid.UUID:
    """The id of the snapshot ``account`` publishes when revalued at ``mark`` of ``symbol``."""
    return event_id("snapshot", account, symbol, mark.time, mark.rank, mark.seq)


def locked_margin(ledger: Ledger) -> Decimal:
    """Margin of the open positions: entry notional over leverage (isolated margin does not
    move with the mark)."""
    return sum((p.notional() / p.leverage for p in ledger.positions.values()), ZERO)


def build(
    account: str,
    ledger: Ledger,
    marks: dict[str, Mark],
    event_time: int,
    snapshot_id: uuid.UUID,
    asset: str = "USDT",
) -> PortfolioSnapshot:
    """The snapshot of ``ledger`` at ``marks``. Balance ``total`` is the cash (starting cash
    plus realised PnL minus fees and funding: margin is a limit, not a transfer), ``locked``
    the margin of the open positions; equity is cash plus unrealised PnL. A position without
    a mark is valued at its entry (unrealised 0)."""
    prices = {s: m.price for s, m in marks.items()}
    positions = []
    for symbol, p in sorted(ledger.positions.items()):
        mark = prices.get(symbol)
        positions.append(
            Position(
                symbol=symbol,
                side="LONG" if p.side > 0 else "SHORT",
                quantity=p.quantity,
                average_entry=p.average_entry,
                mark_price=mark,
                # + ZERO turns a short's -0 into 0
                unrealized_pnl=p.unrealized(mark) + ZERO if mark is not None else ZERO,
                leverage=p.leverage,
                realized_pnl=p.realized_pnl,
                correlation_id=p.correlation_id,
                funding=p.funding,
            )
        )
    unrealized = ledger.unrealized(prices) + ZERO
    return PortfolioSnapshot(
        event_id=snapshot_id,
        event_time=event_time,
        source=SOURCE,
        account=account,
        balances=[Balance(asset=asset, total=ledger.cash, locked=locked_margin(ledger))],
        positions=positions,
        equity=ledger.cash + unrealized,
        realized_pnl=ledger.realized_pnl,
        unrealized_pnl=unrealized,
        fees_paid=ledger.fees_paid,
        funding_paid=ledger.funding_paid,
    )


def state_fields(snapshot: PortfolioSnapshot, as_of: int) -> dict[str, Any]:
    """The document fields of the latest snapshot (what the gateway serves). ``event_time``
    is the account's "as of" time: the newest event time it has seen."""
    doc = snapshot.model_dump(mode="json", exclude={"produced_at"})
    doc["event_time"] = as_of
    return doc
