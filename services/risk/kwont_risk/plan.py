"""The gate's decision as one pure function: a signal, the book and the account's settings
in, a :class:`Plan` out. No I/O, no clock, no waiting: :class:`kwont_risk.gate.Gate` reads
and waits first (the book once no order of the pair is in flight, and once an expected
paper stop fill is booked), decides with :func:`decide`, and applies the plan in one place
(:meth:`kwont_risk.decisions.Decisions.apply`).

A plan is what to change and what to publish, in this order: ``orders`` (one batch: put
in flight and recorded as decided, then published, a closing order first), ``trip`` (the
kill switch), ``rejection`` (recorded as decided, then published) and ``republish`` (what
a re-delivered signal decided before, published again, nothing recorded). ``settle``: the
closing order went out alone (not the paper venue, or a re-delivery that found only it), so
the entry, if any, is decided once it completed, by :func:`decide_entry` on the booked cash.
"""

from __future__ import annotations

from dataclasses import dataclass

from kwont_common.events import Event, Order, RiskRejection, Signal
from kwont_common.trading.accounts import AccountConfig
from kwont_common.trading.exchange import SymbolFilters
from kwont_quant.live import closes, opens
from kwont_risk import orders, rules, sizing
from kwont_risk.state import BookState


@dataclass(frozen=True)
class Seen:
    """What was decided for a signal before (a re-delivery): orders by leg (``x``, ``e``)
    and the rejection (:func:`kwont_risk.decisions.decided`)."""

    orders: dict[str, Order]
    rejection: RiskRejection | None = None

    @property
    def fresh(self) -> bool:
        """Nothing was decided for the signal yet."""
        return not self.orders and self.rejection is None


NOTHING = Seen({})


@dataclass(frozen=True)
class Plan:
    """What to do about one signal (see the module docstring for the order it is done in)."""

    orders: tuple[Order, ...] = ()
    trip: rules.Refusal | None = None
    rejection: RiskRejection | None = None
    republish: tuple[Event, ...] = ()
    approved: tuple[str, ...] = ()
    """``kwont_risk_decisions`` labels of the new approvals (``exit``, ``entry``)."""
    settle: int | None = None
    """The side of the position the lone closing order closes: wait until it is gone, then
    :func:`decide_entry`. None: the signal is done with this plan."""


def decide(
    signal: Signal,
    state: BookState,
    config: AccountConfig,
    filters: SymbolFilters,
    seen: Seen = NOTHING,
) -> Plan:
    """The plan for ``signal`` on ``state`` (the book after any expected stop fill).

    A signal that closes the open position gets a reduce-only closing order (exits always
    pass). On the paper venue the closing fill is known in advance
    (:func:`kwont_risk.orders.paper_fill`), so the entry is judged on the book after it and
    both go out in one batch; elsewhere the closing order goes out alone (``settle``). A
    re-delivery re-sends what was decided and decides nothing new."""
    closing = seen.orders.get("x")
    approved: tuple[str, ...] = ()
    position = state.ledger.positions.get(signal.symbol)
    if seen.fresh and position and closes(signal.action, signal.exit_side, position.side):
        closing = orders.closing_order(signal, position.side, position.quantity, config.leverage)
        approved = ("exit",)
    side = opens(signal.action)
    ahead = () if closing is None else (closing,)
    if "e" in seen.orders:
        return Plan(orders=(*ahead, seen.orders["e"]))
    if seen.rejection is not None:
        return Plan(orders=ahead, republish=(seen.rejection,))
    if closing is None:
        return decide_entry(signal, state, config, filters)
    expected = orders.paper_fill(closing, config, filters) if signal.venue == "paper" else None
    if seen.fresh and side != 0 and expected is not None:
        after = state.after_expected(expected, config.leverage)
        return decide_entry(signal, after, config, filters, closing, approved)
    return Plan(orders=ahead, approved=approved, settle=-1 if closing.side == "BUY" else 1)


def decide_entry(
    signal: Signal,
    state: BookState,
    config: AccountConfig,
    filters: SymbolFilters,
    ahead: Order | None = None,
    approved: tuple[str, ...] = (),
) -> Plan:
    """The entry the signal opens (if any), judged and sized on ``state``; ``ahead``, a
    closing order not sent yet, goes out first (with the entry, or alone before the
    rejection)."""
    first = () if ahead is None else (ahead,)
    side = opens(signal.action)
    if side == 0:
        return Plan(orders=first, approved=approved)
    position = state.ledger.positions.get(signal.symbol)
    if position is not None:  # with ``ahead``: not reached, the projected exit closed it
        held = "long" if position.side == 1 else "short"
        code, reason = (
            ("already_in_position", f"a {held} position is open")
            if position.side == side
            else ("position_open", f"the {held} position was not closed; no entry")
        )
        return Plan(first, rejection=orders.rejection(signal, code, reason), approved=approved)
    equity, day_start, peak = state.levels(signal.event_time)
    cash = float(state.equity_without(signal.symbol))
    quantity = sizing.quantity(
        sizing.raw_quantity(config, signal, side, cash, filters), filters.step_size
    )
    price = sizing.fill_price(config, side, signal.reference_price, filters)
    others = sum(1 for s in state.ledger.positions if s != signal.symbol)
    entry = rules.Entry(
        symbol=signal.symbol, time=signal.event_time, quantity=quantity, price=price,
        equity=equity, day_start_equity=day_start, peak_equity=peak,
        open_positions=others + state.in_flight_entries(signal.symbol),
        kill_switch=state.kill_switch, last_entry=state.last_entry.get(signal.symbol),
    )  # fmt: skip
    refusal = rules.judge_entry(entry, config, filters)
    if refusal is not None:
        return Plan(
            first,
            trip=refusal if refusal.code in rules.TRIPS else None,
            rejection=orders.rejection(signal, refusal.code, refusal.reason),
            approved=approved,
        )
    order = orders.entry_order(signal, side, quantity, config.leverage, filters)
    return Plan((*first, order), approved=(*approved, "entry"))
