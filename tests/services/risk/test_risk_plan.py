"""The gate's decision as a pure function (kwont_risk.plan): plain inputs -> a plan, no
engines. The fills the book is advanced with come from the paper venue's own rules
(kwont_execution.paper), so a plan sized on a projected fill is checked against the book
the real fill leaves."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from kwont_common.events import Fill, Order, Signal
from kwont_common.trading import ids
from kwont_common.trading.accounts import AccountConfig, RiskLimits
from kwont_common.trading.exchange import SymbolFilters
from kwont_common.trading.ledger import Ledger
from kwont_execution import paper
from kwont_execution.paper_position import Position
from kwont_risk import orders, sizing
from kwont_risk.plan import Plan, Seen, decide, decide_entry
from kwont_risk.state import BookState, KillSwitch, utc_day

pytestmark = pytest.mark.unit
T0 = 1_704_067_200_000 + 10 * 3_600_000
MIN = 60_000
ACCOUNT = AccountConfig(account="a", fee_bps=7.5, slippage_bps=3, leverage=2)
FILTERS = SymbolFilters(Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal(5))


def signal(action: str, t: int, price: float, venue: str = "paper") -> Signal:
    sid = uuid.uuid4()
    return Signal(
        event_id=sid, correlation_id=sid, event_time=t, source="test", account="a",
        symbol="BTCUSDT", deployment_id="d", strategy="s", interval="1m", action=action,
        candle_open_time=t - MIN, reference_price=price, venue=venue, stop_loss_pct=0.02,
    )  # fmt: skip


def same(a: tuple[Order, ...], b: tuple[Order, ...]) -> bool:
    """The same orders but for ``produced_at`` (the envelope's wall clock)."""
    dump = [o.model_dump(exclude={"produced_at"}) for o in a]
    return dump == [o.model_dump(exclude={"produced_at"}) for o in b]


def flat() -> BookState:
    return BookState(ledger=Ledger(cash=ACCOUNT.cash))


def booked(state: BookState, fill: Fill) -> BookState:
    """``state`` after booking ``fill`` (a copy)."""
    after = BookState(ledger=Ledger.from_doc(state.ledger.to_doc()), kill_switch=state.kill_switch)
    after.ledger.apply(fill, ACCOUNT.leverage)
    return after


def fill_of(order: Order, position: Position | None = None) -> tuple[Fill, paper.Outcome]:
    """The paper venue's fill of ``order`` (its real rules, at the order's reference price)."""
    out = paper.execute(order, position, paper.market_price(order, None), ACCOUNT, FILTERS)
    fill = out.events[0]
    assert isinstance(fill, Fill)
    return fill, out


def held_long(venue: str = "paper") -> tuple[BookState, Position]:
    """A book holding the long the paper venue opened for a plan's entry."""
    opening = decide(signal("enter_long", T0, 100.0, venue), flat(), ACCOUNT, FILTERS)
    [entry] = opening.orders
    fill, out = fill_of(entry.model_copy(update={"venue": "paper"}))
    assert out.position is not None
    return booked(flat(), fill), out.position


def test_a_flat_book_and_an_entry_signal_plan_one_entry_sized_on_the_cash() -> None:
    sig = signal("enter_long", T0, 100.0)
    plan = decide(sig, flat(), ACCOUNT, FILTERS)
    [entry] = plan.orders
    assert entry.client_order_id == ids.client_order_id(sig.event_id, "e")
    assert (entry.side, entry.reduce_only, entry.leverage) == ("BUY", False, 2)
    raw = sizing.raw_quantity(ACCOUNT, sig, 1, float(ACCOUNT.cash), FILTERS)
    assert entry.quantity == sizing.quantity(raw, FILTERS.step_size) > 0
    assert entry.quantity % FILTERS.step_size == 0  # type: ignore[operator]
    assert (plan.approved, plan.settle, plan.rejection, plan.trip) == (("entry",), None, None, None)


def test_a_paper_reversal_plans_exit_and_entry_together_sized_on_the_real_exit_fill() -> None:
    state, position = held_long()
    flip = signal("enter_short", T0 + 5 * MIN, 103.7)
    plan = decide(flip, state, ACCOUNT, FILTERS)
    closing, entry = plan.orders
    assert (closing.side, closing.reduce_only, closing.quantity) == (
        "SELL",
        True,
        position.quantity,
    )
    assert (entry.side, entry.reduce_only) == ("SELL", False)
    assert plan.approved == ("exit", "entry") and plan.settle is None
    # the entry is the one decide_entry makes on the book the paper venue's real fill leaves
    real, _ = fill_of(closing, position)
    after = booked(state, real)
    assert after.ledger.positions == {}
    assert same(decide_entry(flip, after, ACCOUNT, FILTERS).orders, (entry,))


def test_off_paper_the_closing_order_goes_alone_and_the_entry_waits_for_its_fill() -> None:
    state, position = held_long("binance")
    flip = signal("enter_short", T0 + 5 * MIN, 103.7, venue="binance")
    plan = decide(flip, state, ACCOUNT, FILTERS)
    [closing] = plan.orders
    assert closing.reduce_only and plan.settle == 1 and plan.approved == ("exit",)
    real, _ = fill_of(closing.model_copy(update={"venue": "paper"}), position)
    later = decide_entry(flip, booked(state, real), ACCOUNT, FILTERS)
    [entry] = later.orders
    assert (entry.side, entry.reduce_only, later.approved) == ("SELL", False, ("entry",))


def test_an_exit_signal_plans_only_the_closing_order() -> None:
    state, position = held_long()
    plan = decide(signal("exit", T0 + 5 * MIN, 101.0), state, ACCOUNT, FILTERS)
    [closing] = plan.orders
    assert closing.quantity == position.quantity and plan.settle == 1


def test_a_second_entry_the_same_way_is_refused_and_nothing_is_sent() -> None:
    state, _ = held_long()
    plan = decide(signal("enter_long", T0 + 5 * MIN, 101.0), state, ACCOUNT, FILTERS)
    assert plan.orders == () and plan.rejection is not None
    assert (plan.rejection.code, plan.rejection.reason) == (
        "already_in_position",
        "a long position is open",
    )


def test_a_tripped_kill_switch_refuses_entries_but_the_closing_order_still_goes_first() -> None:
    state, _ = held_long()
    state.kill_switch = KillSwitch(True, "max_drawdown", "down", T0, utc_day(T0))
    plan = decide(signal("enter_short", T0 + 5 * MIN, 103.7), state, ACCOUNT, FILTERS)
    [closing] = plan.orders
    assert closing.reduce_only and plan.rejection is not None
    assert plan.rejection.code == "kill_switch" and plan.trip is None
    assert plan.approved == ("exit",)


def test_a_daily_loss_breach_refuses_and_plans_the_trip() -> None:
    limited = ACCOUNT.model_copy(update={"limits": RiskLimits(max_daily_loss=0.05)})
    state = flat()
    state.day, state.day_start_equity = utc_day(T0), Decimal(11_000)  # 10,000 is 9% down
    sig = signal("enter_long", T0, 100.0)
    plan = decide(sig, state, limited, FILTERS)
    assert plan.orders == () and plan.rejection is not None and plan.trip is not None
    assert plan.rejection.code == plan.trip.code == "max_daily_loss"
    assert plan.rejection.event_id == orders.rejection_id(sig)


def test_a_redelivery_re_sends_what_was_decided_and_decides_nothing_new() -> None:
    state, _ = held_long()
    flip = signal("enter_short", T0 + 5 * MIN, 103.7)
    first = decide(flip, state, ACCOUNT, FILTERS)
    closing, entry = first.orders
    again = decide(flip, state, ACCOUNT, FILTERS, Seen({"x": closing, "e": entry}))
    assert again == Plan(orders=(closing, entry))
    refused = orders.rejection(flip, "cooldown", "too soon")
    assert decide(flip, flat(), ACCOUNT, FILTERS, Seen({}, refused)) == Plan(republish=(refused,))
    # only the closing order decided (it went out alone): re-send it, then settle again
    alone = decide(flip, state, ACCOUNT, FILTERS, Seen({"x": closing}))
    assert alone == Plan(orders=(closing,), settle=1)


def test_the_same_inputs_give_the_same_plan() -> None:
    state, _ = held_long()
    flip = signal("enter_short", T0 + 5 * MIN, 103.7)
    one, two = (decide(flip, state, ACCOUNT, FILTERS) for _ in range(2))
    assert same(one.orders, two.orders) and one.approved == two.approved
