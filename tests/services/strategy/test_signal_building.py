"""Plain functions of the strategy service: a bar's reading to a Signal (stops in both
forms), and the rolling window's append."""

from __future__ import annotations

import numpy as np
import pytest

from kwont_common.testing import candle
from kwont_common.trading.ids import signal_id
from kwont_quant import BarSignal
from kwont_quant.live import Intent
from kwont_quant.synthetic import gbm_ohlcv
from kwont_strategy.deployments import Deployment, fingerprint, strategy_ref
from kwont_strategy.signals import build, stop_fields
from kwont_strategy.windows import appended, with_candle

pytestmark = pytest.mark.unit


def bar(sl: tuple[str, float] | None = None, tp: tuple[str, float] | None = None,
        size: float = 1.0) -> BarSignal:  # fmt: skip
    return BarSignal(0, 100.0, True, False, False, False, size,
                     sl[0] if sl else None, sl[1] if sl else None,
                     tp[0] if tp else None, tp[1] if tp else None)  # fmt: skip


def test_pct_stops_travel_as_fraction_and_as_price() -> None:
    got = stop_fields(bar(("pct", 0.02), ("pct", 0.05)), "enter_long", 200.0)
    assert got == pytest.approx(
        {"stop_loss": 196.0, "stop_loss_pct": 0.02, "take_profit": 210.0, "take_profit_pct": 0.05}
    )
    short = stop_fields(bar(("pct", 0.02)), "enter_short", 200.0)
    assert short == pytest.approx({"stop_loss": 204.0, "stop_loss_pct": 0.02})


def test_distance_stops_become_a_fraction_of_the_reference_price() -> None:
    got = stop_fields(bar(("distance", 5.0), ("distance", 10.0)), "enter_short", 200.0)
    assert got == pytest.approx(
        {"stop_loss": 205.0, "stop_loss_pct": 0.025, "take_profit": 190.0,
         "take_profit_pct": 0.05}
    )  # fmt: skip


def test_unreachable_levels_are_left_out_and_exits_carry_no_stops() -> None:
    # a long's stop 250 below a 200 price, a short's take-profit likewise: never hit
    assert stop_fields(bar(("distance", 250.0)), "enter_long", 200.0) == {}
    assert stop_fields(bar(tp=("distance", 250.0)), "enter_short", 200.0) == {}
    # a short's stop 250 above 200 exists, but 125 % has no fraction form in the event
    assert stop_fields(bar(("distance", 250.0)), "enter_short", 200.0) == {"stop_loss": 450.0}
    assert stop_fields(bar(("pct", 0.02)), "exit", 200.0) == {}


def test_signal_has_the_deterministic_id_and_the_candles_facts() -> None:
    dep = Deployment("dep_1", "u1", "acct-1", "sma_cross", "binance", "1m", ("BTCUSDT",),
                     False, "fp")  # fmt: skip
    c = candle(price=100.0)
    s = build(dep, c, bar(("pct", 0.02), size=0.25), Intent("enter_long"), "strategy")
    assert s.event_id == s.correlation_id == signal_id("dep_1", "BTCUSDT", "1m", c.open_time)
    assert (s.reference_price, s.event_time, s.candle_open_time) == (
        c.close, c.close_time, c.open_time
    )  # fmt: skip
    assert s.venue == "binance" and s.size_hint == 0.25 and s.stop_loss_pct == 0.02
    assert s.key() == "acct-1:BTCUSDT"
    full = build(dep, c, bar(size=1.0), Intent("exit", "short"), "strategy")
    assert full.size_hint is None and full.exit_side == "short" and full.stop_loss is None


def test_a_change_of_params_or_strategy_changes_the_fingerprint() -> None:
    doc = {"strategy": "sma_cross", "params": {"fast": 3, "slow": 8}}
    assert strategy_ref(doc).builtin and strategy_ref({"strategy": "st_x"}).builtin is False
    assert fingerprint(doc) == fingerprint({**doc, "symbols": ["X"], "status": "running"})
    assert fingerprint(doc) != fingerprint({**doc, "params": {"fast": 2, "slow": 8}})
    assert fingerprint(doc) != fingerprint({**doc, "strategy": "ema_cross"})


def test_append_keeps_the_last_cap_rows_read_only() -> None:
    bars = gbm_ohlcv(6, seed=3)
    start = int(bars.open_time_ms[0])
    window = with_candle(
        {"open_time": bars.open_time_ms[:4].astype(float), "open": bars.open[:4],
         "high": bars.high[:4], "low": bars.low[:4], "close": bars.close[:4],
         "volume": bars.volume[:4]},
        candle(open_time=int(bars.open_time_ms[4]), price=float(bars.open[4])),
        4,
    )  # fmt: skip
    assert list(window.open_time_ms) == [start + i * 60_000 for i in range(1, 5)]
    more = appended(window, candle(open_time=int(bars.open_time_ms[5]), price=50.0), 4)
    assert list(more.open_time_ms) == [start + i * 60_000 for i in range(2, 6)]
    assert more.close[-1] == 50.0 * 1.005 and more.open_time_ms.dtype == np.int64
    with pytest.raises(ValueError):
        more.close[0] = 1.0
    grown = appended(more, candle(open_time=int(bars.open_time_ms[5]) + 60_000), 10)
    assert len(grown) == 5
