"""The paper venue's pure rules: fills priced by the paper fill model
(kwont_common.trading.exchange), fees from the account, the refusals the engine would
make, and protective exits."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from kwont_common.events import Fill, Order, OrderUpdate
from kwont_common.trading import ids
from kwont_common.trading.accounts import AccountConfig
from kwont_execution import paper
from kwont_execution.paper_position import Bar, Position
from kwont_quant import live

pytestmark = pytest.mark.unit
T0 = 1_700_000_040_000 - 1_700_000_040_000 % 60_000
ACCOUNT = AccountConfig(account="acct-1", fee_bps=10, slippage_bps=5, maintenance_margin=0.004)


def order(side: str = "BUY", **kw: object) -> Order:
    signal = uuid.uuid5(ids.NAMESPACE, f"{kw.get('candle_open_time', T0)}:{side}:{kw}")
    leg = "x" if kw.get("reduce_only") else "e"
    fields: dict[str, object] = {
        "event_time": T0 + 59_999,
        "source": "risk",
        "account": "acct-1",
        "symbol": "BTCUSDT",
        "correlation_id": signal,
        "client_order_id": ids.client_order_id(signal, leg),
        "signal_id": signal,
        "venue": "paper",
        "side": side,
        "quantity": Decimal("0.5"),
        "reference_price": 100.0,
        "interval": "1m",
        "candle_open_time": T0,
        "stop_loss_pct": 0.02,
        "take_profit_pct": 0.03,
        "leverage": 5,
    }
    fields.update(kw)
    return Order.model_validate(fields)


def opened(o: Order) -> Position:
    price = paper.market_price(o, None)
    out = paper.execute(o, None, price, ACCOUNT)
    assert out.position is not None
    return out.position


def test_entry_fills_at_the_reference_price_with_slippage_fee_and_stops() -> None:
    o = order("SELL")
    out = paper.execute(o, None, paper.market_price(o, None), ACCOUNT)
    fill, filled, sl_new, tp_new = out.events
    expected = 99.95  # 100 x (1 - 0.0005), in Decimal
    assert isinstance(fill, Fill) and fill.price == Decimal("99.95")
    assert fill.fee == Decimal("0.5") * fill.price * Decimal("0.001")
    assert fill.trade_id == f"paper-{o.client_order_id}" and not fill.reduce_only
    assert isinstance(filled, OrderUpdate) and filled.status == "FILLED"
    assert filled.filled_quantity == Decimal("0.5") and filled.average_price == fill.price
    assert [sl_new.client_order_id, tp_new.client_order_id] == [  # type: ignore[attr-defined]
        ids.client_order_id(o.signal_id, "sl"),
        ids.client_order_id(o.signal_id, "tp"),
    ]
    pos = out.position
    assert pos is not None and pos.side == -1 and pos.checked_through == T0
    assert (pos.stop_loss, pos.take_profit) == (101.949, 96.9515)  # 99.95 x 1.02, x 0.97
    assert pos.liquidation == live.liquidation_price(-1, expected, 5, 0.004)
    again = paper.execute(o, None, (100.0, o.event_time), ACCOUNT)
    assert again.events[0].event_id == fill.event_id  # deterministic


def test_absolute_stops_are_the_fallback_and_a_newer_tick_sets_the_price() -> None:
    o = order(stop_loss_pct=None, take_profit_pct=None, stop_loss=Decimal(95), take_profit=None)
    close = paper.candle_close_time("1m", T0)
    assert paper.market_price(o, (close, 99.0)) == (100.0, o.event_time)  # not after close
    price = paper.market_price(o, (close + 5, 101.0))
    assert price == (101.0, close + 5)
    pos = paper.execute(o, None, price, ACCOUNT).position
    assert pos is not None and (pos.stop_loss, pos.take_profit) == (95.0, None)
    assert len(paper.execute(o, None, price, ACCOUNT).events) == 3  # fill, FILLED, sl NEW


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: order(reduce_only=True, side="SELL"), "no open position"),
        (lambda: order(order_type="LIMIT", limit_price=Decimal(99)), "MARKET orders only"),
        (lambda: order(reference_price=None), "no price"),
    ],
)
def test_orders_the_engine_would_not_trade_are_rejected(make: object, reason: str) -> None:
    o = make()  # type: ignore[operator]
    out = paper.execute(o, None, paper.market_price(o, None), ACCOUNT)
    [update] = out.events
    assert isinstance(update, OrderUpdate) and update.status == "REJECTED"
    assert reason in (update.reason or "") and not out.changed


def test_entry_while_open_and_reduce_only_on_the_same_side_are_rejected() -> None:
    pos = opened(order())
    again = paper.execute(order(candle_open_time=T0 + 60_000), pos, (100.0, T0), ACCOUNT)
    assert again.events[0].status == "REJECTED" and again.position == pos  # type: ignore[attr-defined]
    same = paper.execute(order("BUY", reduce_only=True), pos, (100.0, T0), ACCOUNT)
    assert "cannot reduce a long" in (same.events[0].reason or "")  # type: ignore[attr-defined]


def test_reduce_only_closes_at_most_the_position_and_cancels_the_legs_when_flat() -> None:
    pos = opened(order())
    part = order("SELL", reduce_only=True, quantity=Decimal("0.2"), candle_open_time=T0 + 60_000)
    out = paper.execute(part, pos, (110.0, T0 + 120_000), ACCOUNT)
    assert out.position is not None and out.position.quantity == Decimal("0.3")
    assert out.events[0].quantity == Decimal("0.2")  # type: ignore[attr-defined]
    last = order("SELL", reduce_only=True, quantity=Decimal(9), candle_open_time=T0 + 120_000)
    px = live.market_price(-1, 120.0, ACCOUNT.slippage_rate)
    done = paper.execute(last, out.position, (px, T0 + 180_000), ACCOUNT)
    fill = done.events[0]
    assert isinstance(fill, Fill) and fill.quantity == Decimal("0.3") and fill.reduce_only
    assert fill.exit_reason == "signal" and fill.correlation_id == last.correlation_id
    assert [e.status for e in done.events[1:]] == ["FILLED", "CANCELED", "CANCELED"]  # type: ignore[attr-defined]
    assert done.position is None


@pytest.mark.parametrize(
    ("o", "h", "lo", "reason", "leg"),
    [
        (100.0, 100.5, 97.0, "stop_loss", "sl"),  # long stop at 98.0 (2%) -> stop price
        (97.5, 100.0, 97.0, "stop_loss", "sl"),  # gap through the stop: fills at the open
        (100.0, 104.0, 99.5, "take_profit", "tp"),
        (100.0, 100.5, 99.5, None, None),
    ],
)
def test_protective_exits_follow_the_engine(
    o: float, h: float, lo: float, reason: str | None, leg: str | None
) -> None:
    entry = order(reference_price=100.0)
    pos = opened(entry)
    out = paper.protect(pos, Bar(T0 + 60_000, T0 + 119_999, o, h, lo), ACCOUNT)
    expected = live.protective_exit(
        1, o, h, lo, pos.stop_loss, pos.take_profit, pos.liquidation, ACCOUNT.slippage_rate
    )
    if reason is None:
        assert out is None and expected is None
        return
    assert out is not None and expected is not None and expected[1] == reason
    fill = out.events[0]
    assert isinstance(fill, Fill) and fill.exit_reason == reason and fill.reduce_only
    assert fill.price == Decimal(repr(expected[0])) and fill.side == "SELL"
    assert fill.client_order_id == ids.client_order_id(entry.signal_id, leg or "")
    assert fill.trade_id == f"paper-{fill.client_order_id}" and fill.event_time == T0 + 119_999
    assert fill.correlation_id == entry.correlation_id
    assert [e.status for e in out.events[1:]] == ["FILLED", "CANCELED"]  # type: ignore[attr-defined]


def test_a_levered_short_is_liquidated_when_the_high_crosses_its_liquidation_price() -> None:
    pos = opened(order("SELL", stop_loss_pct=None, take_profit_pct=None, leverage=20))
    high = pos.liquidation * 1.001
    out = paper.protect(pos, Bar(T0 + 60_000, T0 + 119_999, 100.0, high, 99.0), ACCOUNT)
    assert out is not None
    fill = out.events[0]
    assert isinstance(fill, Fill) and fill.exit_reason == "liquidation"
    assert fill.price == Decimal(repr(pos.liquidation)) and len(out.events) == 2


def test_margin_tiers_liquidate_at_the_bracket_of_the_notional() -> None:
    """10,000,000 of BTCUSDT at 10x is in bracket 4 (mmr 2.5 %, cum 122,550): Binance's
    LP = (WB + cum - pos x entry) / (pos x mmr - pos) with WB = 1,000,000, worked here."""
    flat = ACCOUNT.model_copy(update={"fee_bps": 0, "slippage_bps": 0})
    tiered = flat.model_copy(update={"margin_tiers": True})
    big = order(quantity=Decimal(100_000), stop_loss_pct=None, take_profit_pct=None, leverage=10)
    lp = (1_000_000 + 122_550 - 100_000 * 100.0) / (100_000 * 0.025 - 100_000)  # 91.0518
    pos = paper.execute(big, None, paper.market_price(big, None), tiered).position
    assert pos is not None and pos.liquidation == pytest.approx(lp, rel=1e-12)
    bar = Bar(T0 + 60_000, T0 + 119_999, 99.0, 99.5, 91.0)
    out = paper.protect(pos, bar, tiered)
    assert out is not None and out.events[0].exit_reason == "liquidation"  # type: ignore[attr-defined]
    # Without tiers the flat 0.4 % liquidates lower, at 90.36: the same bar leaves it open.
    pos = paper.execute(big, None, paper.market_price(big, None), flat).position
    assert pos is not None and pos.liquidation == live.liquidation_price(1, 100.0, 10, 0.004)
    assert paper.protect(pos, bar, flat) is None
