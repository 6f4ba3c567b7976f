"""Indicators shared across a sweep (kwont_quant._memo): computed once per distinct
window, every caller its own copy, results the same as runs without sharing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from kwont_quant import BacktestConfig, Signals, Strategy, run_backtest
from kwont_quant import indicators as ta
from kwont_quant._memo import Shared, sharing
from kwont_quant.candles import Candles
from kwont_quant.optimize import evaluate, grid_search
from kwont_quant.params import IntParameter
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit


class Scribbler(Strategy):
    """Writes into its indicator: with sharing, that must not reach another set."""

    period = IntParameter(2, 100, default=10)
    seen: list[float] = []

    def generate(self, candles: Candles) -> Signals:
        line = ta.sma(candles.close, 20)
        Scribbler.seen.append(float(np.nansum(line)))
        line[:] = line * self.period  # in place, different per parameter set
        up = ta.crossover(candles.close, line / self.period)
        return Signals(enter_long=up, exit_long=ta.crossunder(candles.close, line / self.period))


def test_grid_with_sharing_equals_one_run_per_set_bit_for_bit() -> None:
    candles = gbm_ohlcv(4000, seed=3)
    cfg = BacktestConfig(long_only=True)
    grid = {"fast": [5, 10, 15], "slow": [20, 40]}
    result = grid_search("sma_cross", grid, candles, cfg, workers=2)
    for e in result.evaluations:
        alone = run_backtest("sma_cross", candles, cfg, e.params)
        assert e.metrics == alone.metrics
    assert result.guards is not None
    assert grid_search("sma_cross", grid, candles, cfg, guards=False).guards is None


def test_a_strategy_writing_into_its_indicator_does_not_change_another_set() -> None:
    candles = gbm_ohlcv(3000, seed=4)
    Scribbler.seen.clear()
    sets = [{"period": p} for p in (2, 3, 5, 7)]
    evals = evaluate(Scribbler, sets, candles, BacktestConfig(long_only=True), workers=2)
    assert len(set(Scribbler.seen)) == 1  # every set read the untouched SMA
    for e in evals:
        assert e.metrics == run_backtest(Scribbler, candles, None, e.params).metrics


def test_each_distinct_indicator_is_computed_once_across_threads() -> None:
    candles = gbm_ohlcv(1000, seed=5)
    shared = Shared([candles])
    calls: list[int] = []
    lock = threading.Lock()

    def compute(period: int) -> np.ndarray:
        with lock:
            calls.append(period)
        return ta.sma(candles.close, period)

    def ask(period: int) -> np.ndarray:
        key = shared.key("sma", (candles.close, period))
        assert key is not None
        return shared.get(key, lambda: compute(period))

    with ThreadPoolExecutor(4) as pool:
        out = list(pool.map(ask, [10, 20, 10, 20, 10, 30] * 5))
    assert sorted(calls) == [10, 20, 30]
    assert out[0] is not out[2] and np.array_equal(out[0], out[2], equal_nan=True)


def test_only_the_swept_arrays_are_shared() -> None:
    candles = gbm_ohlcv(500, seed=6)
    shared = Shared([candles])
    assert shared.key("sma", (candles.close, 5)) is not None
    assert shared.key("sma", (candles.close * 1.0, 5)) is None  # derived: never shared
    assert shared.key("sma", (candles.close, [5])) is None  # unhashable argument
    with sharing(shared):
        a, b = ta.sma(candles.close, 5), ta.sma(candles.close, 5)
    assert a is not b and np.array_equal(a, b, equal_nan=True)
