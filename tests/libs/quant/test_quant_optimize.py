"""Grid expansion, sharded evaluation, grid search and walk-forward."""

from __future__ import annotations

import pytest

from kwont_quant import BacktestConfig, ConfigError, ParameterError, run_backtest
from kwont_quant.backtest import Progress
from kwont_quant.optimize import evaluate, expand_grid, grid_search, parse_range
from kwont_quant.synthetic import gbm_ohlcv
from kwont_quant.walkforward import walk_forward

pytestmark = pytest.mark.unit

BENCH_GRID = {"fast": parse_range("5:50:5"), "slow": parse_range("20:200:20")}


def test_parse_range() -> None:
    assert parse_range("5:50:5") == ["5", "10", "15", "20", "25", "30", "35", "40", "45", "50"]
    assert parse_range("1.5:2.5:0.5") == ["1.5", "2.0", "2.5"]
    assert parse_range("3,7") == ["3", "7"]
    with pytest.raises(ParameterError):
        parse_range("1:5:0")
    with pytest.raises(ParameterError):
        parse_range("a:b")


def test_expand_grid_skips_refused_combinations() -> None:
    sets = expand_grid("sma_cross", BENCH_GRID)
    assert len(sets) == 90  # 100 minus the 10 with fast >= slow
    assert all(p["fast"] < p["slow"] for p in sets)
    assert sets[0] == {"fast": 5, "slow": 20}
    with pytest.raises(ParameterError, match="no parameter"):
        expand_grid("sma_cross", {"period": [1]})
    with pytest.raises(ParameterError, match="outside"):
        expand_grid("sma_cross", {"fast": [1]})


def test_threaded_evaluation_equals_sequential_runs_and_shards_compose() -> None:
    candles = gbm_ohlcv(5000, seed=12)
    sets = expand_grid("sma_cross", {"fast": [5, 10, 15], "slow": [30, 60]})
    seen: list[Progress] = []
    threaded = evaluate("sma_cross", sets, candles, workers=2, progress=seen.append)
    assert [e.params for e in threaded] == sets
    for e in threaded:
        single = run_backtest("sma_cross", candles, BacktestConfig(), e.params)
        assert e.metrics == single.metrics and e.score == single.metrics.sharpe
    assert seen[-1].done == seen[-1].total == len(sets)
    shards = evaluate("sma_cross", sets[:2], candles) + evaluate("sma_cross", sets[2:], candles)
    assert [e.metrics for e in shards] == [e.metrics for e in threaded]


def test_grid_search_ranks_by_objective() -> None:
    candles = gbm_ohlcv(3000, seed=13)
    res = grid_search(
        "ema_cross", {"fast": [5, 10], "slow": [20, 40]}, candles, objective="total_return"
    )
    scores = [e.score for e in res.evaluations]
    assert scores == sorted(scores, reverse=True)
    assert res.best.score == max(e.metrics.total_return for e in res.evaluations)
    dd = grid_search(
        "ema_cross", {"fast": [5, 10], "slow": [20, 40]}, candles, objective="max_drawdown"
    )
    assert dd.best.metrics.max_drawdown == min(e.metrics.max_drawdown for e in dd.evaluations)
    with pytest.raises(ConfigError, match="unknown objective"):
        grid_search("ema_cross", {"fast": [5]}, candles, objective="luck")
    assert res.to_dict()["best"]["params"] == res.best.params


def test_walk_forward_reports_out_of_sample_scores_of_in_sample_winners() -> None:
    candles = gbm_ohlcv(8000, seed=14)
    grid = {"fast": [5, 10, 20], "slow": [40, 80]}
    seen: list[Progress] = []
    wf = walk_forward("sma_cross", grid, candles, windows=4, progress=seen.append)
    assert len(wf.windows) == 4 and [p.done for p in seen] == [1, 2, 3, 4]
    oos_len = 8000 // (3 + 4)  # in-sample is 3x out-of-sample: 8000 = is + 4 * oos
    is_len = 8000 - 4 * oos_len
    t = candles.open_time_ms
    for k, w in enumerate(wf.windows):
        # each winner is the in-sample best ...
        best = grid_search("sma_cross", grid, candles[k * oos_len : k * oos_len + is_len]).best
        assert w.best.params == best.params and w.best.score == best.score
        # ... re-scored on the next unseen span, its indicators warmed on the bars before
        oos_start = k * oos_len + is_len
        assert (w.out_of_sample_start_ms, w.out_of_sample_end_ms) == (
            t[oos_start],
            t[oos_start + oos_len - 1],
        )
        assert w.in_sample_end_ms == t[oos_start - 1]
        feed = oos_start - best.params["slow"] - 2
        oos = run_backtest(
            "sma_cross",
            candles[feed : oos_start + oos_len],
            BacktestConfig(),
            best.params,
            start=oos_start - feed,
        )
        assert w.out_of_sample.metrics == oos.metrics
        assert oos.trades.entry_bar.min() > oos_start - feed
    d = wf.to_dict()
    assert len(d["windows"]) == 4 and "out_of_sample_score" in d["windows"][0]
    with pytest.raises(ConfigError, match="too few"):
        walk_forward("sma_cross", grid, candles[:300], windows=10)
