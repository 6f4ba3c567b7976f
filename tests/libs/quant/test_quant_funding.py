"""Perpetual funding in the backtest engine (docs/strategies.md, "Funding"): who pays, when,
how much; funding off changes nothing; the optimiser and walk-forward carry it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kwont_quant import BacktestConfig, ConfigError, FundingRates, read_funding_csv, run_backtest
from kwont_quant.candles import Candles
from kwont_quant.engine import run_engine
from kwont_quant.funding import synthetic_funding
from kwont_quant.optimize import grid_search
from kwont_quant.signals import STOP_NONE, SignalArrays
from kwont_quant.synthetic import DEFAULT_START_MS, gbm_ohlcv
from kwont_quant.walkforward import walk_forward

pytestmark = pytest.mark.unit

HOUR = 3_600_000
T0 = DEFAULT_START_MS  # 2024-01-01T00:00:00Z, a funding time


def _candles(n: int = 48) -> Candles:
    return gbm_ohlcv(n, seed=5, interval_ms=HOUR, annual_vol=0.3)


def _signals(n: int, long: dict[int, str], short: dict[int, str] | None = None) -> SignalArrays:
    """Signals judged at the given bars' closes ("in"/"out"); they fill at the next open."""
    el, xl, es, xs = (np.zeros(n, dtype=np.bool_) for _ in range(4))
    for i, what in long.items():
        (el if what == "in" else xl)[i] = True
    for i, what in (short or {}).items():
        (es if what == "in" else xs)[i] = True
    nan = np.full(n, np.nan)
    return SignalArrays(el, xl, es, xs, np.ones(n), STOP_NONE, nan, STOP_NONE, nan)


def _rows() -> FundingRates:
    # 00:00 (before the entry), 08:00, 16:00 (no mark: the last closed candle's close),
    # 24:00, 32:00 (the exit's time), 40:00 (the second entry's time), 56:00 (after the data)
    times = [T0 + h * HOUR for h in (0, 8, 16, 24, 32, 40, 56)]
    rates = [0.0003, 0.0001, -0.00025, 0.0002, 0.0004, 0.00015, 0.001]
    marks = [100.0, 101.5, np.nan, 99.25, 98.0, 102.0, 100.0]
    return FundingRates.of(times, rates, marks)


def test_held_across_three_funding_times_pays_their_sum() -> None:
    c = _candles()
    # long: in at 03:00 (signal at bar 2), out at 32:00 exactly (a funding time: not paid);
    # again in at 40:00 exactly (a funding time: paid), still open at the end
    sig = _signals(len(c), {2: "in", 31: "out", 39: "in"})
    cfg = BacktestConfig(fee_bps=10.0)
    rows = _rows()
    with_f = run_engine(c, sig, cfg, funding=rows)
    without = run_engine(c, sig, cfg)
    t = with_f.trades
    assert len(t) == 2 and t.exit_reason == ["signal", "open"]
    assert int(c.open_time_ms[t.entry_bar[0]]) == T0 + 3 * HOUR
    assert int(c.open_time_ms[t.exit_bar[0]]) == T0 + 32 * HOUR
    q1, q2 = float(t.qty[0]), float(t.qty[1])
    mark16 = float(c.close[15])  # the candle 15:00-16:00 closed at 16:00
    first = q1 * 101.5 * 0.0001 + q1 * mark16 * -0.00025 + q1 * 99.25 * 0.0002
    second = q2 * 102.0 * 0.00015
    assert t.funding[0] == pytest.approx(first, rel=1e-12)
    assert t.funding[1] == pytest.approx(second, rel=1e-12)
    assert round(float(t.funding[0]), 2) == round(first, 2)  # to the cent, as the paper venue
    assert with_f.metrics.funding_paid == pytest.approx(first + second, rel=1e-12)
    # net pnl = gross - fees - funding; the account is the cash plus the trades' net pnl
    assert t.pnl[0] == pytest.approx(without.trades.pnl[0] - first, rel=1e-12)
    assert with_f.final_equity == pytest.approx(cfg.cash + t.pnl.sum(), rel=1e-12)
    assert with_f.trades.to_list()[0]["funding"] == pytest.approx(first, rel=1e-12)
    assert "funding" not in without.trades.to_list()[0]
    assert without.metrics.funding_paid == 0.0


def test_short_receives_a_positive_rate() -> None:
    c = _candles()
    sig = _signals(len(c), {}, {2: "in", 31: "out"})
    rows = FundingRates.of([T0 + 8 * HOUR, T0 + 16 * HOUR], [0.0005, 0.0005], [100.0, 100.0])
    r = run_engine(c, sig, BacktestConfig(), funding=rows)
    plain = run_engine(c, sig, BacktestConfig())
    q = float(r.trades.qty[0])
    assert r.trades.funding[0] < 0
    assert r.trades.funding[0] == pytest.approx(-2 * q * 100.0 * 0.0005, rel=1e-12)
    assert r.trades.pnl[0] > plain.trades.pnl[0]
    assert r.metrics.funding_paid < 0


def test_stopped_inside_the_bar_of_a_funding_time_does_not_pay() -> None:
    c = _candles()
    sig = _signals(len(c), {2: "in"})
    sig = SignalArrays(**{**sig.__dict__, "sl_kind": 1, "sl_value": np.full(len(c), 1e-9)})
    rows = FundingRates.of([T0 + 3 * HOUR + 60_000], [0.01], [100.0])  # 03:01, bar 3
    r = run_engine(c, sig, BacktestConfig(), funding=rows)
    assert r.trades.exit_reason[0] == "stop_loss" and int(r.trades.exit_bar[0]) == 3
    assert r.trades.funding[0] == 0.0


def test_funding_off_is_bit_identical() -> None:
    c = gbm_ohlcv(20_000, seed=9, annual_vol=2.0)
    cfg = BacktestConfig(leverage=5.0, fee_bps=4.0, slippage_bps=1.0)
    params = {"fast": 5, "slow": 30}
    off = run_backtest("sma_cross", c, cfg, params)
    zero = synthetic_funding(c)
    zero = FundingRates(zero.times, np.zeros(len(zero)), zero.marks)
    outside = FundingRates.of([int(c.open_time_ms[-1]) + 10 * HOUR], [0.01], [1.0])
    for rows in (zero, outside, FundingRates.of([], [])):
        on = run_backtest("sma_cross", c, cfg, params, funding=rows)
        assert on.equity.tobytes() == off.equity.tobytes()
        assert on.trades.records.tobytes() == off.trades.records.tobytes()
        assert on.metrics.funding_paid == 0.0
        assert {**on.metrics.__dict__} == {**off.metrics.__dict__}
    paid = run_backtest("sma_cross", c, cfg, params, funding=synthetic_funding(c))
    assert paid.metrics.funding_paid != 0.0
    assert paid.equity.tobytes() != off.equity.tobytes()


def test_grid_search_and_walk_forward_carry_funding() -> None:
    c = gbm_ohlcv(6_000, seed=4, interval_ms=15 * 60_000, annual_vol=1.0)
    rows = synthetic_funding(c, "BTCUSDT")
    grid = {"fast": [5, 10], "slow": [40, 80]}
    opt = grid_search("sma_cross", grid, c, BacktestConfig(), "sharpe", workers=2, funding=rows)
    for e in opt.evaluations:
        single = run_backtest("sma_cross", c, BacktestConfig(), e.params, funding=rows)
        assert e.metrics.funding_paid == single.metrics.funding_paid != 0.0
    plain = grid_search("sma_cross", grid, c, BacktestConfig(), "sharpe", workers=2)
    assert all(e.metrics.funding_paid == 0.0 for e in plain.evaluations)
    wf = walk_forward("sma_cross", grid, c, BacktestConfig(), 3, funding=rows)
    assert all(w.out_of_sample.metrics.funding_paid != 0.0 for w in wf.windows)
    assert all(w.best.metrics.funding_paid != 0.0 for w in wf.windows)


def test_portfolio_takes_funding_per_symbol() -> None:
    a, b = gbm_ohlcv(3_000, seed=1), gbm_ohlcv(3_000, seed=2)
    rows = synthetic_funding(a, "AAAUSDT")
    p = run_backtest("sma_cross", {"AAAUSDT": a, "BBBUSDT": b}, funding={"AAAUSDT": rows})
    assert p.per_symbol["BBBUSDT"].metrics.funding_paid == 0.0
    assert p.metrics.funding_paid == pytest.approx(p.per_symbol["AAAUSDT"].metrics.funding_paid)
    assert p.metrics.funding_paid != 0.0
    with pytest.raises(ConfigError, match="mapping takes funding"):
        run_backtest("sma_cross", {"AAAUSDT": a}, funding=rows)


def test_read_funding_csv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "BTCUSDT-fundingRate-2024-01.csv"
    path.write_text(
        "calc_time,funding_interval_hours,last_funding_rate\n"
        "1704096000008,8,-0.00012\n1704067200000,8,0.00010000\n"
    )
    rows = read_funding_csv(path)
    assert rows.times.tolist() == [1704067200000, 1704096000000]  # sorted, to the minute
    assert rows.rates.tolist() == [0.0001, -0.00012]
    assert all(math.isnan(m) for m in rows.marks)
    path.write_text("calc_time,funding_interval_hours,last_funding_rate\n1704067200000,8,x\n")
    with pytest.raises(ConfigError, match="line 2: .*not numbers.*1704067200000,8,0.0001"):
        read_funding_csv(path)
