"""kwont_quant.live (the rules the trading services apply one candle at a time) trades
exactly like the compiled engine: a bar-by-bar loop built only from those functions, fed
the strategy's live signals, reproduces ``run_backtest``'s trades."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kwont_quant import BacktestConfig, Candles, run_backtest
from kwont_quant.live import (
    closes,
    entry_quantity,
    intent,
    liquidation_price,
    market_price,
    opens,
    protective_exit,
    stop_levels,
)
from kwont_quant.seam import compute_signals
from kwont_quant.signals import BarSignal, Stop
from kwont_quant.strategies.trend import SmaCross
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit


class StoppedCross(SmaCross):
    """sma_cross with percent stops, so protective exits happen."""

    stop_loss = Stop.percent(0.004)
    take_profit = Stop.percent(0.006)


def step_through(strategy: Any, candles: Candles, cfg: BacktestConfig) -> list[tuple[Any, ...]]:
    """The pipeline's order of events, in one loop: signal at close j -> market fill at
    the next price; then the next bar's protective checks."""
    sig = compute_signals(strategy, candles)
    fee, slip, lev = cfg.fee_rate, cfg.slippage_rate, cfg.leverage
    cash = cfg.cash
    pos: dict[str, Any] | None = None
    trades: list[tuple[Any, ...]] = []

    def close(i: int, px: float, why: str) -> None:
        nonlocal cash, pos
        assert pos is not None
        xfee = pos["qty"] * px * fee
        cash += pos["side"] * pos["qty"] * (px - pos["px"]) - xfee
        trades.append((pos["side"], pos["i"], i, pos["px"], px, pos["qty"], why))
        pos = None

    n = len(candles)
    for i in range(1, n):
        j = i - 1
        o, h, lo = candles.open[i], candles.high[i], candles.low[i]
        if j >= sig.warmup:
            bar = BarSignal(
                0, 0.0, bool(sig.enter_long[j]), bool(sig.exit_long[j]),
                bool(sig.enter_short[j]), bool(sig.exit_short[j]), float(sig.size[j]),
                "pct" if sig.sl_kind else None, float(sig.sl_value[j]) if sig.sl_kind else None,
                "pct" if sig.tp_kind else None, float(sig.tp_value[j]) if sig.tp_kind else None,
            )  # fmt: skip
            want = intent(bar, allow_short=not cfg.long_only)
            if want is not None:
                if pos is not None and closes(want.action, want.exit_side, pos["side"]):
                    close(i, market_price(-pos["side"], o, slip), "signal")
                side = opens(want.action)
                if pos is None and side != 0:
                    fill = market_price(side, o, slip)
                    qty = entry_quantity(cash, fill, fee, lev, cfg.sizing.value, bar.size)
                    cash -= qty * fill * fee
                    sl, tp = stop_levels(side, fill, bar.stop_loss_value, bar.take_profit_value)
                    liq = liquidation_price(side, fill, lev, cfg.maintenance_margin)
                    pos = {"side": side, "i": i, "px": fill, "qty": qty, "sl": sl, "tp": tp}
                    pos["liq"] = liq
        if pos is not None:
            hit = protective_exit(pos["side"], o, h, lo, pos["sl"], pos["tp"], pos["liq"], slip)
            if hit is not None:
                close(i, hit[0], hit[1])
    if pos is not None:  # the engine lists a position still open as an "open" trade
        last = candles.close[-1]
        trades.append((pos["side"], pos["i"], n - 1, pos["px"], last, pos["qty"], "open"))
    return trades


@pytest.mark.parametrize(
    ("strategy", "cfg"),
    [
        (SmaCross(fast=5, slow=20), BacktestConfig(fee_bps=10, slippage_bps=5)),
        (StoppedCross(fast=5, slow=20), BacktestConfig(fee_bps=10, slippage_bps=5)),
        (StoppedCross(fast=8, slow=21), BacktestConfig(leverage=5, long_only=True)),
        (StoppedCross(fast=3, slow=13), BacktestConfig(leverage=20, slippage_bps=2)),
    ],
    ids=["plain", "stops", "long-only-levered", "high-leverage"],
)
def test_bar_by_bar_rules_equal_the_engine(strategy: Any, cfg: BacktestConfig) -> None:
    candles = gbm_ohlcv(4000, seed=11, annual_vol=1.5)
    engine = run_backtest(strategy, candles, cfg).trades
    mine = step_through(strategy, candles, cfg)
    assert len(engine) > 20
    assert len(mine) == len(engine)
    assert [t[0] for t in mine] == engine.side.tolist()
    assert [t[1] for t in mine] == engine.entry_bar.tolist()
    assert [t[2] for t in mine] == engine.exit_bar.tolist()
    assert [t[6] for t in mine] == engine.exit_reason
    np.testing.assert_allclose([t[3] for t in mine], engine.entry_price, rtol=1e-12)
    np.testing.assert_allclose([t[4] for t in mine], engine.exit_price, rtol=1e-12)
    np.testing.assert_allclose([t[5] for t in mine], engine.qty, rtol=1e-9)
    if cfg.leverage > 1:
        assert "stop_loss" in engine.exit_reason


def test_intent_reads_flags_like_the_engine() -> None:
    def bar(el: bool = False, xl: bool = False, es: bool = False, xs: bool = False) -> BarSignal:
        return BarSignal(0, 1.0, el, xl, es, xs, 1.0, None, None, None, None)

    assert intent(bar(el=True)) == intent(bar(el=True, xs=True))
    assert intent(bar(el=True, es=True)) is not None  # both entries cancel, both sides close
    assert intent(bar(el=True, es=True)).exit_side is None  # type: ignore[union-attr]
    assert intent(bar(es=True), allow_short=False) is None
    assert intent(bar(xl=True)).exit_side == "long"  # type: ignore[union-attr]
    assert intent(bar()) is None
    assert closes("enter_long", None, -1) and not closes("enter_long", None, 1)
    assert closes("exit", "short", -1) and not closes("exit", "short", 1)
