"""Sizing follows the backtest engine's formulas; the book's pure transitions (orders in
flight, day-start and peak equity) do what the gate relies on."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from kwont_common.events import Fill, OrderUpdate, Signal
from kwont_common.trading.accounts import AccountConfig, Sizing
from kwont_common.trading.exchange import NO_FILTERS, SymbolFilters
from kwont_common.trading.ledger import Ledger, PositionBook
from kwont_risk import orders, sizing
from kwont_risk.state import (
    DAY_MS,
    BookState,
    after_fill,
    after_update,
    equity_fields,
    in_flight_record,
)

pytestmark = pytest.mark.unit
T0 = 1_704_067_200_000
SIG = uuid.uuid4()


def signal(**kw: Any) -> Signal:
    fields: dict[str, Any] = {
        "event_id": SIG, "correlation_id": SIG, "event_time": T0, "source": "test",
        "account": "a", "symbol": "BTCUSDT", "deployment_id": "d", "strategy": "s",
        "interval": "1m", "action": "enter_long", "candle_open_time": T0 - 60_000,
        "reference_price": 100.0,
    }  # fmt: skip
    return Signal(**(fields | kw))


def test_fraction_sizing_is_the_engines_formula() -> None:
    acct = AccountConfig(account="a", fee_bps=10, slippage_bps=5, leverage=3)
    fill = 100.0 * (1 + 0.0005)
    engine = 10_000 * 3 / (fill * (1 + 0.001 * 3))
    assert sizing.raw_quantity(acct, signal(), 1, 10_000.0, NO_FILTERS) == pytest.approx(
        engine, rel=1e-15
    )
    half = sizing.raw_quantity(acct, signal(size_hint=0.5), 1, 10_000.0, NO_FILTERS)
    assert half == pytest.approx(engine / 2, rel=1e-15)
    assert sizing.fill_price(acct, -1, 100.0, NO_FILTERS) == Decimal("99.95")
    on_tick = sizing.fill_price(acct, 1, 100.0, SymbolFilters(tick_size=Decimal("0.1")))
    assert on_tick == Decimal("100.1")  # 100.05, up to the tick: against the buyer


def test_risk_sizing_loses_the_fraction_at_the_stop() -> None:
    acct = AccountConfig(account="a", fee_bps=0, sizing=Sizing(mode="risk", value=0.01))
    qty = sizing.raw_quantity(acct, signal(stop_loss=95.0), 1, 10_000.0, NO_FILTERS)
    assert qty == pytest.approx(100 / 5)  # 1% of 10,000 over a 5.0 stop distance
    by_pct = sizing.raw_quantity(acct, signal(stop_loss_pct=0.02), 1, 10_000.0, NO_FILTERS)
    assert by_pct == pytest.approx(100 / 2)
    capped = sizing.raw_quantity(acct, signal(stop_loss=99.99), 1, 10_000.0, NO_FILTERS)
    assert capped == pytest.approx(100.0)  # the whole equity carries only 100 at 100
    no_stop = sizing.raw_quantity(acct, signal(), 1, 10_000.0, NO_FILTERS)
    assert no_stop == pytest.approx(100.0)
    ticked = SymbolFilters(tick_size=Decimal("0.01"))
    rounded = sizing.raw_quantity(acct, signal(stop_loss=95.004), 1, 10_000.0, ticked)
    assert rounded == pytest.approx(100 / 4.99)  # the stop the venue holds: 95.01, not 95.004


def test_quantity_is_rounded_down_to_the_lot_step() -> None:
    assert sizing.quantity(0.123456789, Decimal("0.001")) == Decimal("0.123")
    assert sizing.quantity(0.123456789, None) == Decimal("0.123456789")
    assert sizing.quantity(-1.0, None) == 0 and sizing.quantity(float("nan"), None) == 0


def test_orders_carry_the_signal_and_deterministic_ids() -> None:
    s = signal(stop_loss=95.123, take_profit=110.006, stop_loss_pct=0.05)
    e = orders.entry_order(s, 1, Decimal("1.5"), 3, SymbolFilters(tick_size=Decimal("0.01")))
    assert e.client_order_id == f"ke-{SIG.hex}" and e.side == "BUY" and not e.reduce_only
    # toward the entry: a long's stop up (never wider), its take-profit down
    assert (e.stop_loss, e.take_profit) == (Decimal("95.13"), Decimal("110.00"))
    assert e.correlation_id == SIG and e.signal_id == SIG and e.event_time == T0
    assert e.reference_price == 100.0 and e.candle_open_time == T0 - 60_000
    again = orders.entry_order(s, 1, Decimal("1.5"), 3, SymbolFilters(tick_size=Decimal("0.01")))
    assert again.event_id == e.event_id
    x = orders.closing_order(s, 1, Decimal("2"), 3)
    assert x.client_order_id == f"kx-{SIG.hex}" and x.side == "SELL" and x.reduce_only
    assert x.stop_loss is None and x.event_id != e.event_id


def fill(qty: str, coid: str, trade: str = "t1", price: str = "100") -> Fill:
    return Fill(
        event_time=T0, source="test", account="a", symbol="BTCUSDT", correlation_id=SIG,
        client_order_id=coid, venue="paper", trade_id=trade, side="BUY",
        quantity=Decimal(qty), price=Decimal(price), fee=Decimal(0),
    )  # fmt: skip


def update(status: str, filled: str, coid: str) -> OrderUpdate:
    return OrderUpdate(
        event_time=T0, source="test", account="a", symbol="BTCUSDT", correlation_id=SIG,
        client_order_id=coid, venue="paper", status=status, filled_quantity=Decimal(filled),
    )  # fmt: skip


def in_flight(quantity: str) -> tuple[BookState, str]:
    order = orders.entry_order(signal(), 1, Decimal(quantity), 1, SymbolFilters())
    state = BookState(ledger=Ledger(cash=Decimal(1000)))
    state.in_flight["BTCUSDT"] = {order.client_order_id: in_flight_record(order)}
    return state, order.client_order_id


def test_an_order_completes_when_its_fills_reach_its_quantity() -> None:
    state, coid = in_flight("2")
    after_fill(state, fill("1.5", coid))
    assert state.busy("BTCUSDT")
    fields = after_fill(state, fill("0.5", coid, "t2"))
    assert not state.busy("BTCUSDT") and fields["done"] == [coid]
    assert not state.busy("ETHUSDT")


def test_a_filled_update_that_overtakes_its_fill_waits_for_the_fill() -> None:
    state, coid = in_flight("2")
    after_update(state, update("NEW", "0", coid))
    after_update(state, update("FILLED", "2", coid))
    assert state.busy("BTCUSDT"), "the fill is not booked yet: sizing would miss it"
    after_fill(state, fill("2", coid))
    assert not state.busy("BTCUSDT")


def test_a_rejected_or_partly_filled_canceled_order_completes() -> None:
    state, coid = in_flight("2")
    after_update(state, update("REJECTED", "0", coid))
    assert not state.busy("BTCUSDT")
    state, coid = in_flight("2")
    after_fill(state, fill("0.5", coid))
    after_update(state, update("CANCELED", "0.5", coid))
    assert not state.busy("BTCUSDT")
    state, coid = in_flight("2")
    assert state.busy("BTCUSDT") and not state.busy("BTCUSDT", ignore_signal=SIG.hex)


def test_day_start_equity_rolls_over_by_event_time_and_peak_keeps_the_high() -> None:
    before = BookState(ledger=Ledger(cash=Decimal(1000)), equity=Decimal(1000))
    after = BookState(ledger=Ledger(cash=Decimal(1100)))
    first = equity_fields(before, after, T0)
    assert first == {"equity": "1100", "day": T0 // DAY_MS, "day_start_equity": "1000",
                     "peak_equity": "1100"}  # fmt: skip
    same_day = BookState(
        ledger=Ledger(cash=Decimal(1100)), equity=Decimal(1100), day=T0 // DAY_MS,
        day_start_equity=Decimal(1000), peak_equity=Decimal(1100),
    )  # fmt: skip
    lower = BookState(ledger=Ledger(cash=Decimal(900)))
    fields = equity_fields(same_day, lower, T0 + 3_600_000)
    assert (fields["day_start_equity"], fields["peak_equity"]) == ("1000", "1100")
    next_day = equity_fields(same_day, lower, T0 + DAY_MS)
    assert (next_day["day"], next_day["day_start_equity"]) == (T0 // DAY_MS + 1, "1100")
    # a signal on a later day than the book's last event starts that day at current equity
    same_day.ledger = Ledger(cash=Decimal(900))
    assert same_day.levels(T0 + DAY_MS) == (Decimal(900), Decimal(900), Decimal(1100))
    assert same_day.levels(T0) == (Decimal(900), Decimal(1000), Decimal(1100))


def test_sizing_equity_counts_other_positions_pnl_only() -> None:
    ledger = Ledger(
        cash=Decimal(1000),
        positions={
            "BTCUSDT": PositionBook(1, Decimal(1), Decimal(100)),
            "ETHUSDT": PositionBook(-1, Decimal(2), Decimal(50)),
        },
    )
    state = BookState(ledger=ledger, marks={"BTCUSDT": Decimal(110), "ETHUSDT": Decimal(45)})
    assert state.equity_without("BTCUSDT") == Decimal(1010)
    assert state.current_equity() == Decimal(1020)
