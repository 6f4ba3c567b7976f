"""Metrics against straightforward numpy formulas and hand-made curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kwont_quant import BacktestConfig, run_backtest
from kwont_quant import _kernels_engine as ke
from kwont_quant.metrics import MS_PER_YEAR, compute_metrics
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit

MIN = 60_000


def test_equity_metrics_match_numpy() -> None:
    candles = gbm_ohlcv(20_000, seed=8)
    r = run_backtest("ema_cross", candles, BacktestConfig(fee_bps=2), {"fast": 20, "slow": 60})
    eq = r.equity
    rets = eq[1:] / eq[:-1] - 1
    ppy = MS_PER_YEAR / MIN
    m = r.metrics
    assert m.sharpe == pytest.approx(rets.mean() / rets.std(ddof=1) * math.sqrt(ppy), rel=1e-9)
    assert m.volatility == pytest.approx(rets.std(ddof=1) * math.sqrt(ppy), rel=1e-9)
    downside = math.sqrt(np.mean(np.minimum(rets, 0) ** 2))
    assert m.sortino == pytest.approx(rets.mean() / downside * math.sqrt(ppy), rel=1e-9)
    dd = 1 - eq / np.maximum.accumulate(eq)
    assert m.max_drawdown == pytest.approx(dd.max(), rel=1e-12)
    years = len(eq) * MIN / MS_PER_YEAR
    assert m.cagr == pytest.approx((eq[-1] / eq[0]) ** (1 / years) - 1, rel=1e-9)
    assert m.calmar == pytest.approx(m.cagr / m.max_drawdown, rel=1e-12)
    pnl = np.array([t["pnl"] for t in r.trades.to_list() if t["exit_reason"] != "open"])
    assert m.n_trades == len(pnl) > 50
    assert m.win_rate == pytest.approx((pnl > 0).mean())
    assert m.profit_factor == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl < 0].sum())
    assert m.expectancy == pytest.approx(pnl.mean())
    assert m.total_return == pytest.approx(eq[-1] / 10_000 - 1)


def test_drawdown_duration_by_hand() -> None:
    eq = np.array([100, 110, 105, 100, 108, 111, 111, 90, 95, 100.0])
    times = np.arange(10) * MIN
    m = compute_metrics(eq, times, np.empty((0, ke.N_COLS)), 0)
    # peak 110 at bar 1, recovered at bar 5 (4 bars); peak 111 at bar 6, still under
    # water at bar 9 (3 bars)
    assert m.max_drawdown_duration_bars == 4
    assert m.max_drawdown_duration_ms == 4 * MIN
    assert m.max_drawdown == pytest.approx(1 - 90 / 111)
    assert math.isnan(m.win_rate) and m.n_trades == 0
    d = m.to_dict()
    assert d["win_rate"] is None and d["profit_factor"] is None


def test_flat_equity_is_all_zero_not_nan() -> None:
    m = compute_metrics(np.full(50, 1000.0), np.arange(50) * MIN, np.empty((0, ke.N_COLS)), 0)
    assert (m.sharpe, m.sortino, m.volatility, m.max_drawdown, m.total_return) == (0, 0, 0, 0, 0)
    assert m.calmar == 0.0
