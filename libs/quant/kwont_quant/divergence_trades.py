"""The two trade lists of a divergence report, built from what is stored.

:func:`from_backtest` reads a backtest result's trade dicts (``TradeLog.to_list``);
:func:`round_trips` folds a deployment's recorded fills into round trips, the way the
engine counts a trade: a position opened from flat and closed back to flat (a fill that
flips the position closes one trade and opens the next with the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from kwont_quant.divergence import EXACT, ZERO, Event, Trade


def _dec(value: Any) -> Decimal:
    # floats go through str(): the shortest repr, not the binary expansion
    return value if isinstance(value, Decimal) else Decimal(str(value))


def from_backtest(trades: Iterable[Mapping[str, Any]], symbol: str = "") -> list[Trade]:
    """Backtest trade dicts (``side``, ``entry_time_ms``, ``exit_time_ms``, prices, ``qty``,
    ``fees``) as :class:`Trade`; ``symbol`` fills in a dict without one."""
    return [
        Trade(
            symbol=str(t.get("symbol") or symbol),
            side=str(t["side"]),
            entry_time_ms=int(t["entry_time_ms"]),
            exit_time_ms=int(t["exit_time_ms"]),
            entry_price=_dec(t["entry_price"]),
            exit_price=_dec(t["exit_price"]),
            qty=_dec(t["qty"]),
            fees=_dec(t.get("fees", 0)),
        )
        for t in trades
    ]


@dataclass(frozen=True)
class FillRow:
    """What a round trip needs of a fill (the ``fills`` topic's ``Fill``)."""

    symbol: str
    time_ms: int
    side: str  # "buy" | "sell" (any case: the ``Fill`` event says ``BUY`` / ``SELL``)
    quantity: Decimal
    price: Decimal
    fee: Decimal = ZERO
    reduce_only: bool = False  # a closing leg: at equal times it goes before an entry


@dataclass
class _Open:
    side: str
    entry_time_ms: int
    qty: Decimal
    cost: Decimal  # sum of price * qty of the opening fills
    fees: Decimal
    exit_qty: Decimal = ZERO
    exit_value: Decimal = ZERO


def round_trips(fills: Sequence[FillRow]) -> list[Trade]:
    """Closed round trips of ``fills`` (any order; sorted by time), per symbol. Prices are
    quantity-weighted averages of the opening and closing fills; fees are summed (a
    flipping fill's fee is split pro rata). A position still open at the end is left out:
    it has no exit to compare."""
    with localcontext(EXACT):
        return _round_trips(fills)


def _round_trips(fills: Sequence[FillRow]) -> list[Trade]:
    out: list[Trade] = []
    book: dict[str, _Open] = {}
    for f in sorted(fills, key=lambda r: (r.time_ms, r.symbol, not r.reduce_only)):
        if f.side.lower() not in ("buy", "sell"):
            raise ValueError(f"fill side must be buy or sell, got {f.side!r}")
        sign = 1 if f.side.lower() == "buy" else -1
        left, fee_left = f.quantity, f.fee
        while left > 0:
            pos = book.get(f.symbol)
            if pos is None:
                side = "long" if sign > 0 else "short"
                book[f.symbol] = _Open(side, f.time_ms, left, f.price * left, fee_left)
                break
            if (pos.side == "long") == (sign > 0):  # adds to the position
                pos.qty += left
                pos.cost += f.price * left
                pos.fees += fee_left
                break
            take = min(left, pos.qty - pos.exit_qty)
            fee = fee_left if take == left else f.fee * take / f.quantity
            pos.exit_qty += take
            pos.exit_value += f.price * take
            pos.fees += fee
            left -= take
            fee_left -= fee
            if pos.exit_qty == pos.qty:
                out.append(
                    Trade(
                        symbol=f.symbol,
                        side=pos.side,
                        entry_time_ms=pos.entry_time_ms,
                        exit_time_ms=f.time_ms,
                        entry_price=pos.cost / pos.qty,
                        exit_price=pos.exit_value / pos.qty,
                        qty=pos.qty,
                        fees=pos.fees,
                    )
                )
                del book[f.symbol]
    return sorted(out, key=lambda t: (t.entry_time_ms, t.symbol))


def rejection_events(rejections: Iterable[Mapping[str, Any]]) -> list[Event]:
    """``risk_rejections`` records (``time_ms``, ``symbol``, ``code``, ``reason``) as events;
    a ``kill_switch`` code counts as the kill switch tripping."""
    events = []
    for r in rejections:
        code = str(r.get("code", ""))
        kind = "kill_switch" if code.startswith("kill_switch") else "risk_rejection"
        detail = f"{code}: {r.get('reason', '')}".strip(": ")
        events.append(Event(int(r["time_ms"]), kind, detail, str(r.get("symbol", ""))))
    return events
