"""The risk book of one account as plain data, and how each event changes it (no I/O).

One document per account in ``risk_books`` (``_id`` = account): the fill ``ledger`` and
``seen`` fill ids (kwont_common.trading.books), a ``version`` every writer bumps, and:

- ``marks``: ``{SYMBOL: {price, time}}``, the latest mark per symbol (snapshots and fills);
- ``equity`` (last computed), ``day`` (UTC day number of the last event), ``day_start_equity``
  (equity carried into that day) and ``peak_equity``;
- ``kill_switch``: ``{tripped, code, reason, since, day}``;
- ``last_entry``: ``{SYMBOL: event time of the last approved entry}``;
- ``in_flight``: ``{SYMBOL: {client_order_id: {leg, side, quantity, filled, target, since,
  order}}}``, approved orders without their terminal outcome yet, and ``done``: the client
  order ids that completed (so a re-published order is not put in flight again).

Days and times are by event time, so a replay computes the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from kwont_common.events import Fill, Order, OrderUpdate, PortfolioSnapshot
from kwont_common.trading.exchange import to_decimal
from kwont_common.trading.ledger import Ledger

DAY_MS = 86_400_000
DONE_KEEP = 1000
TERMINAL = ("FILLED", "CANCELED", "REJECTED", "EXPIRED")


def utc_day(ms: int) -> int:
    """Days since the epoch of an epoch-ms time (UTC)."""
    return ms // DAY_MS


@dataclass(frozen=True)
class KillSwitch:
    """A tripped switch blocks entries until reset or until the UTC day after ``day``."""

    tripped: bool = False
    code: str | None = None
    reason: str | None = None
    since: int | None = None
    day: int | None = None

    def active(self, now_ms: int) -> bool:
        """Whether entries are blocked at ``now_ms``: tripped and not past UTC day ``day``."""
        return self.tripped and (self.day is None or utc_day(now_ms) <= self.day)

    def to_doc(self) -> dict[str, Any]:
        """The ``kill_switch`` document of this switch."""
        return {k: getattr(self, k) for k in ("tripped", "code", "reason", "since", "day")}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> KillSwitch:
        """The switch of a ``kill_switch`` document (not tripped for None)."""
        doc = doc or {}
        return cls(**{k: doc.get(k) for k in ("code", "reason", "since", "day")},
                   tripped=bool(doc.get("tripped")))  # fmt: skip


@dataclass
class BookState:
    """The parsed document."""

    ledger: Ledger
    marks: dict[str, Decimal] = field(default_factory=dict)
    equity: Decimal | None = None
    day: int | None = None
    day_start_equity: Decimal | None = None
    peak_equity: Decimal | None = None
    kill_switch: KillSwitch = field(default_factory=KillSwitch)
    last_entry: dict[str, int] = field(default_factory=dict)
    in_flight: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None, cash: Decimal) -> BookState:
        """Parse a book document; one without a ``ledger`` starts with ``cash``."""
        doc = doc or {}
        ledger = Ledger.from_doc(doc["ledger"]) if "ledger" in doc else Ledger(cash=cash)
        return cls(
            ledger=ledger,
            marks={s: Decimal(m["price"]) for s, m in (doc.get("marks") or {}).items()},
            equity=_dec(doc.get("equity")),
            day=doc.get("day"),
            day_start_equity=_dec(doc.get("day_start_equity")),
            peak_equity=_dec(doc.get("peak_equity")),
            kill_switch=KillSwitch.from_doc(doc.get("kill_switch")),
            last_entry=dict(doc.get("last_entry") or {}),
            in_flight={s: dict(o) for s, o in (doc.get("in_flight") or {}).items() if o},
            done=list(doc.get("done") or []),
        )

    def current_equity(self) -> Decimal:
        """Cash plus the open PnL of every position at the latest marks."""
        return self.ledger.equity(self.marks)

    def equity_without(self, symbol: str) -> Decimal:
        """Cash plus the unrealised PnL of the positions on other symbols: what sizing sees
        (equals cash when flat, as in the backtest engine)."""
        others = {s: m for s, m in self.marks.items() if s != symbol}
        return self.ledger.cash + self.ledger.unrealized(others)

    def busy(self, symbol: str, ignore_signal: str | None = None) -> bool:
        """Whether an order of ``symbol`` is in flight (other than those of one signal)."""
        orders = self.in_flight.get(symbol) or {}
        return any(ignore_signal is None or not c.endswith(ignore_signal) for c in orders)

    def in_flight_entries(self, except_symbol: str) -> int:
        """Entry orders in flight on symbols other than ``except_symbol``."""
        return sum(
            1
            for s, orders in self.in_flight.items()
            if s != except_symbol
            for o in orders.values()
            if o.get("leg") == "e"
        )

    def after_expected(self, fill: Fill, leverage: int) -> BookState:
        """A copy of the book as booking ``fill`` will leave it (ledger and equity levels),
        for a decision that cannot wait for the fill. The fill's own symbol keeps its mark:
        the expected fills are closing ones, after which the symbol holds no position."""
        ledger = Ledger.from_doc(self.ledger.to_doc())
        after = replace(self, ledger=ledger, marks=dict(self.marks))
        ledger.apply(fill, leverage)
        levels = equity_fields(self, after, fill.event_time)
        after.equity = Decimal(levels["equity"])
        after.day = levels["day"]
        after.day_start_equity = Decimal(levels["day_start_equity"])
        after.peak_equity = Decimal(levels["peak_equity"])
        return after

    def levels(self, now_ms: int) -> tuple[Decimal, Decimal, Decimal]:
        """``(equity, day-start equity, peak equity)`` as a signal at ``now_ms`` sees them: a
        new UTC day starts from the current equity."""
        equity = self.current_equity()
        day_start = self.day_start_equity
        if day_start is None or self.day is None or utc_day(now_ms) > self.day:
            day_start = equity
        peak = max(self.peak_equity if self.peak_equity is not None else equity, equity)
        return equity, day_start, peak


def _dec(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


def equity_fields(before: BookState, after: BookState, event_time: int) -> dict[str, Any]:
    """``equity``, ``day``, ``day_start_equity`` and ``peak_equity`` after an event at
    ``event_time`` moved the book from ``before`` to ``after``. A new UTC day starts from the
    equity carried into it (the equity before the event); an older event keeps the day."""
    prior = before.equity if before.equity is not None else before.current_equity()
    equity = after.current_equity()
    day, day_start = before.day, before.day_start_equity
    if day is None or utc_day(event_time) > day:
        day, day_start = utc_day(event_time), prior
    peak = max(before.peak_equity if before.peak_equity is not None else prior, equity)
    return {
        "equity": str(equity),
        "day": day,
        "day_start_equity": str(day_start),
        "peak_equity": str(peak),
    }


def mark_fields(
    state: BookState, doc: dict[str, Any], symbol: str, price: Decimal, t: int
) -> dict[str, Any]:
    """Set ``symbol``'s mark to ``price`` unless the stored mark is newer; updates ``state``."""
    old = (doc.get("marks") or {}).get(symbol)
    if old is not None and int(old.get("time", 0)) > t:
        return {}
    state.marks[symbol] = price
    return {f"marks.{symbol}": {"price": str(price), "time": t}}


def _complete(state: BookState, symbol: str, coid: str) -> dict[str, Any]:
    orders = dict(state.in_flight.get(symbol) or {})
    orders.pop(coid, None)
    state.in_flight[symbol] = orders
    state.done = [*state.done, coid][-DONE_KEEP:]
    return {f"in_flight.{symbol}": orders, "done": state.done}


def _progress(state: BookState, symbol: str, coid: str, record: dict[str, Any]) -> dict[str, Any]:
    filled = Decimal(record["filled"])
    target = record.get("target")
    if filled >= Decimal(record["quantity"]) or (target is not None and filled >= Decimal(target)):
        return _complete(state, symbol, coid)
    state.in_flight.setdefault(symbol, {})[coid] = record
    return {f"in_flight.{symbol}.{coid}": record}


def after_fill(state: BookState, fill: Fill) -> dict[str, Any]:
    """In-flight change of a booked fill: its quantity counts towards its order."""
    record = (state.in_flight.get(fill.symbol) or {}).get(fill.client_order_id)
    if record is None:
        return {}
    record = {**record, "filled": str(Decimal(record["filled"]) + fill.quantity)}
    return _progress(state, fill.symbol, fill.client_order_id, record)


def after_update(state: BookState, update: OrderUpdate) -> dict[str, Any]:
    """In-flight change of an order update: a terminal status fixes how much will be filled;
    the order completes once that much is booked (a FILLED update may overtake its fill)."""
    record = (state.in_flight.get(update.symbol) or {}).get(update.client_order_id)
    if record is None or update.status not in TERMINAL:
        return {}
    record = {**record, "target": str(update.filled_quantity)}
    return _progress(state, update.symbol, update.client_order_id, record)


def after_snapshot(
    state: BookState, doc: dict[str, Any], snap: PortfolioSnapshot
) -> dict[str, Any]:
    """Marks of the snapshot's positions."""
    fields: dict[str, Any] = {}
    for position in snap.positions:
        if position.mark_price is not None:
            fields |= mark_fields(state, doc, position.symbol, position.mark_price, snap.event_time)
    return fields


def in_flight_record(order: Order) -> dict[str, Any]:
    """What the book keeps of an approved order until it completes."""
    return {
        "leg": order.client_order_id[1 : order.client_order_id.index("-")],
        "side": order.side,
        "quantity": str(order.quantity),
        "filled": "0",
        "target": None,
        "since": order.event_time,
        "order": order.model_dump(mode="json"),
    }
