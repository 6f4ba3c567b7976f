"""Overfitting guards (PSR, DSR, CSCV's PBO) and the trade-sequence Monte Carlo, against
worked values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from kwont_quant import BacktestConfig
from kwont_quant.montecarlo import monte_carlo
from kwont_quant.optimize import evaluate, grid_search, search_guards
from kwont_quant.overfitting import (
    block_moments,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    guards_of,
    pbo,
    probabilistic_sharpe_ratio,
    sharpe_stats,
)
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit


def test_psr_worked_values() -> None:
    # Normal returns: z = 0.1 * sqrt(99) / sqrt(1 + (3 - 1) / 4 * 0.01)
    #                   = 0.994987 / 1.002497 = 0.992509; Phi(0.992509) = 0.839525
    assert probabilistic_sharpe_ratio(0.1, 100) == pytest.approx(0.839525, abs=1e-6)
    # Skew -1, kurtosis 6 widen the spread: 1 + 0.1 + 5 / 4 * 0.01 = 1.1125,
    # z = 0.994987 / 1.054751 = 0.943339; Phi(0.943339) = 0.827246
    assert probabilistic_sharpe_ratio(0.1, 100, -1.0, 6.0) == pytest.approx(0.827246, abs=1e-6)
    # Against its own Sharpe ratio as benchmark: a coin toss.
    assert probabilistic_sharpe_ratio(0.1, 100, benchmark=0.1) == pytest.approx(0.5)
    assert math.isnan(probabilistic_sharpe_ratio(math.nan, 100))


def test_dsr_matches_the_papers_numerical_example() -> None:
    # Bailey & López de Prado (2014), section "A numerical example": 100 trials whose
    # annualised Sharpe ratios have variance 0.5, 5 years of daily returns (T = 1250, 250 a
    # year), the winner's annualised SR 2.5, skew -3, kurtosis 10: SR0 = 0.1132 (per day)
    # and DSR = 0.9004.
    per_day = math.sqrt(250)
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(2.5 / per_day, 1250, -3.0, 10.0, 100, 0.5 / 250)
    assert dsr == pytest.approx(0.9004, abs=5e-5)
    assert expected_max_sharpe(1, 1.0) == 0.0  # nothing was selected
    with pytest.raises(ValueError):
        expected_max_sharpe(0, 1.0)


def test_sharpe_stats_from_block_sums_equal_the_direct_moments() -> None:
    r = np.random.default_rng(3).standard_t(5, 3001) * 0.01 + 0.0005
    s = sharpe_stats(block_moments(r, 16))
    z = (r - r.mean()) / r.std()
    assert s.n == 3001
    assert s.sharpe == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-9)
    assert s.skew == pytest.approx(float(np.mean(z**3)), rel=1e-6)
    assert s.kurtosis == pytest.approx(float(np.mean(z**4)), rel=1e-6)


def test_pbo_two_blocks_by_hand() -> None:
    # S = 2: two splits. Trial 0 is good in block 0 and bad in block 1, trial 1 the other
    # way round: each split's in-sample winner is last out of sample, rank 1 of 2,
    # w = 1 / 3, logit ln(1/2) < 0, so PBO = 1.
    up, down = [0.02, 0.0, 0.02, 0.0], [-0.02, 0.0, -0.02, 0.0]
    swap = np.array([up + down, down + up]).T
    got = pbo(swap, n_blocks=2)
    assert got.pbo == 1.0 and got.n_splits == 2
    assert np.allclose(got.logits, math.log(0.5))
    # Trial 0 better in both halves: w = 2 / 3, logit ln 2 > 0, PBO = 0.
    steady = np.array([up + up, down + down]).T
    assert pbo(steady, n_blocks=2).pbo == 0.0


def _naive_pbo(m: np.ndarray, s: int) -> float:
    """CSCV written out as in the paper, on the rows themselves."""
    parts = np.array_split(np.arange(m.shape[0]), s)
    logits = []
    for c in itertools.combinations(range(s), s // 2):
        ins = np.concatenate([parts[k] for k in c])
        outs = np.concatenate([parts[k] for k in range(s) if k not in c])
        sr_in = m[ins].mean(0) / m[ins].std(0, ddof=1)
        sr_out = m[outs].mean(0) / m[outs].std(0, ddof=1)
        best = int(np.argmax(sr_in))
        rank = 1 + int((sr_out < sr_out[best]).sum())
        w = rank / (m.shape[1] + 1)
        logits.append(math.log(w / (1 - w)))
    return float(np.mean(np.array(logits) <= 0))


def test_pbo_equals_the_written_out_procedure() -> None:
    rng = np.random.default_rng(11)
    m = rng.normal(0.0, 0.01, (480, 12)) + rng.normal(0.0, 0.001, 12)
    for s in (4, 8, 10):
        assert pbo(m, s).pbo == pytest.approx(_naive_pbo(m, s))
    assert pbo(m, 10).n_splits == 252  # C(10, 5)


def test_random_strategies_look_overfit() -> None:
    # The null: 200 strategies with no skill (seeded noise, 2000 bars). Picking the best
    # in sample is a coin toss out of sample, and the winner's Sharpe is what the search
    # alone is expected to produce.
    rng = np.random.default_rng(2024)
    returns = rng.normal(0.0, 0.01, (2000, 200))
    blocks = block_moments(returns, 16)
    sr = returns.mean(0) / returns.std(0, ddof=1)
    g = guards_of(blocks, int(np.argmax(sr)))
    assert g.n_trials == 200 and g.n_blocks == 16
    assert 0.3 <= g.pbo <= 0.7, g
    assert g.dsr < 0.95 and g.dsr < g.psr, g
    assert g.psr > 0.95  # the winner alone looks significant: that is the trap
    # A real edge in one trial survives: its DSR is high and PBO low.
    returns[:, 7] += 0.004
    sr = returns.mean(0) / returns.std(0, ddof=1)
    g = guards_of(block_moments(returns, 16), int(np.argmax(sr)))
    assert g.dsr > 0.95 and g.pbo < 0.1, g


def test_monte_carlo_bands_by_hand() -> None:
    # Trades +100 and -50 from 1,000. Orders: (+100, -50) ends at 1,050 with a drawdown of
    # 50 / 1,100 = 4.545 %; (-50, +100) also ends at 1,050, drawdown 50 / 1,000 = 5 %.
    # Draws with replacement: ++ (1 in 4) 1,200 and no drawdown; -- (1 in 4) 900 and 10 %.
    mc = monte_carlo(np.array([100.0, -50.0]), 1000.0, paths=1000, seed=7)
    assert mc is not None and mc.paths == 1000 and mc.trades == 2
    assert mc.permutation.final_equity == (1050.0, 1050.0, 1050.0)
    assert mc.permutation.max_drawdown[0] == pytest.approx(50 / 1100)
    assert mc.permutation.max_drawdown[2] == pytest.approx(0.05)
    assert mc.bootstrap.final_equity == (900.0, 1050.0, 1200.0)
    assert mc.bootstrap.max_drawdown[0] == 0.0
    assert mc.bootstrap.max_drawdown[2] == pytest.approx(0.1)
    assert set(mc.to_dict()["bootstrap"]) == {
        f"{k}_p{p}" for k in ("final_equity", "max_drawdown") for p in (5, 50, 95)
    }
    assert monte_carlo(np.array([]), 1000.0) is None


def test_monte_carlo_is_seeded_and_caps_its_work() -> None:
    pnl = np.random.default_rng(1).normal(5.0, 100.0, 400)
    a, b = monte_carlo(pnl, 10_000.0, seed=3), monte_carlo(pnl, 10_000.0, seed=3)
    assert a == b
    assert monte_carlo(pnl, 10_000.0, seed=4) != a
    assert a is not None and a.permutation.final_equity[1] == pytest.approx(10_000 + pnl.sum())
    long = monte_carlo(np.ones(400_000), 10.0, paths=1000)
    assert long is not None and long.paths == 12  # 5 M cells at most
    assert long.bootstrap.final_equity == (400_010.0,) * 3


def test_grid_search_reports_the_guards_of_its_winner() -> None:
    # sma_cross on a driftless random walk: no parameter set has an edge.
    candles = gbm_ohlcv(4000, seed=5)
    grid = {"fast": [5, 10, 15, 20], "slow": [30, 60, 90]}
    opt = grid_search("sma_cross", grid, candles, BacktestConfig(fee_bps=0), workers=1)
    g = opt.guards
    assert g is not None and g.n_trials == 12 and g.n_blocks == 16
    assert g.dsr <= g.psr and 0.0 <= g.pbo <= 1.0
    assert opt.to_dict()["guards"]["n_trials"] == 12
    # Shards evaluated apart give the same guards as the whole grid.
    sets = [e.params for e in opt.evaluations]
    parts = evaluate("sma_cross", sets[:5], candles, BacktestConfig(fee_bps=0), workers=1)
    parts += evaluate("sma_cross", sets[5:], candles, BacktestConfig(fee_bps=0), workers=1)
    assert search_guards(parts) == g
