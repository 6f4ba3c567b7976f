"""The prediction of the paper venue's protective exits (kwont_risk.stops): levels as the
venue sets them (percentages anchored at the fill, else absolute prices; liquidation from
the order's leverage) and the first exit among the candles after the entry's candle up to
the signal's, the engine's "worse outcome first" rule on each."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from kwont_common.events import Order
from kwont_common.trading.ledger import PositionBook
from kwont_risk.stops import Bar, Exit, Levels, first_exit, identity, levels

pytestmark = pytest.mark.unit
T0 = 1_704_067_200_000
MIN = 60_000


def entry(**kw: Any) -> Order:
    sid = uuid.uuid4()
    fields: dict[str, Any] = {
        "event_time": T0 + MIN, "source": "test", "account": "a", "symbol": "BTCUSDT",
        "correlation_id": sid, "client_order_id": f"ke-{sid.hex}", "signal_id": sid,
        "venue": "paper", "side": "BUY", "quantity": Decimal(1), "reference_price": 100.0,
        "interval": "1m",
        "candle_open_time": T0,
    }  # fmt: skip
    return Order(**(fields | kw))


def bar(k: int, o: float, h: float, lo: float) -> Bar:
    return Bar(T0 + k * MIN, o, h, lo)


def test_percent_stops_are_anchored_at_the_fill_and_override_the_absolute_prices() -> None:
    order = entry(stop_loss_pct=0.05, take_profit_pct=0.1, stop_loss=Decimal("90"))
    lv = levels(order, 102.0, 0.004)
    assert lv is not None
    assert lv.stop_loss == pytest.approx(102.0 * 0.95) and lv.stop_loss != 95.0
    assert lv.take_profit == pytest.approx(102.0 * 1.1)
    assert (lv.side, lv.interval, lv.entry_candle, lv.liquidation) == (1, "1m", T0, 0.0)


def test_absolute_stops_when_no_percentages_and_a_short_levered_liquidation() -> None:
    order = entry(side="SELL", stop_loss=Decimal("104.5"), take_profit=Decimal("90"), leverage=10)
    lv = levels(order, 100.0, 0.004)
    assert lv is not None
    assert (lv.side, lv.stop_loss, lv.take_profit) == (-1, 104.5, 90.0)
    assert lv.liquidation == pytest.approx(100.0 * 1.1 / 1.004)
    assert levels(entry(interval=None), 100.0, 0.004) is None


LONG = Levels(1, 95.0, 110.0, 0.0, "1m", T0)


def test_a_stop_crossed_inside_a_bar_fills_at_the_stop_less_slippage() -> None:
    bars = [bar(1, 100, 101, 96), bar(2, 99, 100, 94), bar(3, 90, 91, 80)]
    hit = first_exit(LONG, bars, 0.001, T0, T0 + 3 * MIN)
    assert hit == Exit(T0 + 2 * MIN, 95.0 * 0.999, "stop_loss")


def test_a_gap_through_the_stop_fills_at_the_open_and_the_stop_beats_the_take_profit() -> None:
    assert first_exit(LONG, [bar(1, 93, 94, 92)], 0.0, T0, T0 + MIN) == Exit(
        T0 + MIN, 93.0, "stop_loss"
    )
    both = [bar(1, 100, 111, 94)]  # both levels inside one bar: the worse outcome first
    assert first_exit(LONG, both, 0.0, T0, T0 + MIN) == Exit(T0 + MIN, 95.0, "stop_loss")
    assert first_exit(LONG, [bar(1, 100, 111, 96)], 0.0, T0, T0 + MIN) == Exit(
        T0 + MIN, 110.0, "take_profit"
    )


def test_only_candles_after_the_entry_candle_and_up_to_the_signal_candle_count() -> None:
    crossing = [bar(0, 100, 100, 90), bar(2, 100, 100, 90)]
    assert first_exit(LONG, crossing, 0.0, 0, T0 + MIN) is None
    assert first_exit(LONG, crossing, 0.0, 0, T0 + 2 * MIN) == Exit(T0 + 2 * MIN, 95.0, "stop_loss")
    assert first_exit(LONG, crossing, 0.0, T0 + 2 * MIN, T0 + 3 * MIN) is None  # checked already
    assert first_exit(LONG, [bar(1, 100, 105, 96)], 0.0, T0, T0 + MIN) is None


def test_a_levered_long_is_liquidated_before_a_stop_below_the_liquidation_price() -> None:
    lv = levels(entry(leverage=10, stop_loss=Decimal("80")), 100.0, 0.004)
    assert lv is not None and lv.liquidation == pytest.approx(90.0 / 0.996)
    hit = first_exit(lv, [bar(1, 100, 100, 79)], 0.0, T0, T0 + MIN)
    assert hit is not None and hit.reason == "liquidation" and hit.price == lv.liquidation


def test_a_position_changes_identity_with_each_fill() -> None:
    a = PositionBook(1, Decimal(1), Decimal(100), correlation_id="x")
    b = PositionBook(1, Decimal(2), Decimal(100), correlation_id="x")
    assert identity(a) != identity(b)
    assert identity(a) == identity(PositionBook(1, Decimal(1), Decimal(100), correlation_id="x"))


def test_margin_tiers_predict_the_liquidation_of_the_notional_bracket() -> None:
    """A 1,000,000 BTCUSDT short at 10x is in bracket 3 (mmr 1 %, cum 2,550): Binance's
    LP = (WB + cum + pos x entry) / (pos x mmr + pos), WB = 100,000, as the paper venue."""
    order = entry(side="SELL", quantity=Decimal(10_000), leverage=10)
    lp = (100_000 + 2_550 + 10_000 * 100.0) / (10_000 * 0.01 + 10_000)
    lv = levels(order, 100.0, 0.004, None, tiers=True)
    assert lv is not None and lv.liquidation == pytest.approx(lp, rel=1e-12)
    flat = levels(order, 100.0, 0.004)
    assert flat is not None and flat.liquidation == pytest.approx(100.0 * 1.1 / 1.004)
    hit = first_exit(lv, [bar(1, 100.0, lp + 0.01, 99.0)], 0.0, 0, T0 + MIN)
    assert hit == Exit(T0 + MIN, lv.liquidation, "liquidation")
    assert first_exit(flat, [bar(1, 100.0, lp + 0.01, 99.0)], 0.0, 0, T0 + MIN) is None
