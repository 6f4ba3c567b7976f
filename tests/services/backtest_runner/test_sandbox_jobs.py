"""Normal jobs in the sandbox give exactly what kwont_quant gives in-process."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from kwont_backtest_runner.outcomes import Failed, Succeeded
from kwont_backtest_runner.sandbox import Sandbox
from kwont_quant import BacktestConfig, Candles, run_backtest
from kwont_quant.montecarlo import monte_carlo_of
from kwont_quant.optimize import evaluate, search_guards
from kwont_quant.overfitting import guards_of
from tests.services.backtest_runner.conftest import job_for

pytestmark = pytest.mark.integration


def _config() -> BacktestConfig:
    return BacktestConfig(cash=10_000.0, fee_bps=10.0, interval_ms=60_000)


def test_sma_cross_matches_in_process(sandbox: Sandbox, market: dict[str, Candles]) -> None:
    symbol = sorted(market)[0]
    stages: list[tuple[str, float]] = []
    started = time.monotonic()
    outcome = sandbox.run(job_for([symbol]), on_progress=lambda s, f: stages.append((s, f)))
    wall = time.monotonic() - started
    assert isinstance(outcome, Succeeded), outcome
    expected = run_backtest(
        "sma_cross", {symbol: market[symbol]}, _config(), {"fast": 10, "slow": 40}
    )
    got = outcome.result
    want_trades = [t for r in expected.per_symbol.values() for t in r.trades.to_list()]
    assert len(want_trades) > 10
    assert got["trades"] == want_trades
    assert got["final_equity"] == expected.final_equity
    assert got["metrics"] == expected.metrics.to_dict()
    mc = monte_carlo_of(expected)
    assert mc is not None and got["monte_carlo"] == mc.to_dict()
    curve = got["equity_curve"]
    np.testing.assert_array_equal(curve["open_time_ms"], expected.open_time_ms)
    np.testing.assert_array_equal(curve["equity"], expected.equity)
    assert stages[0] == ("loading", 0.0) and stages[-1][1] == 1.0
    print(f"3-day sma_cross in the sandbox: {wall:.2f}s wall")


def test_two_symbols_and_rerun_identical(sandbox: Sandbox, market: dict[str, Candles]) -> None:
    symbols = sorted(market)
    first = sandbox.run(job_for(symbols))
    second = sandbox.run(job_for(symbols))
    assert isinstance(first, Succeeded) and isinstance(second, Succeeded), (first, second)
    expected = run_backtest("sma_cross", market, _config(), {"fast": 10, "slow": 40})
    assert first.result["final_equity"] == expected.final_equity
    assert set(first.result["symbols"]) == set(symbols)
    for s in symbols:
        np.testing.assert_array_equal(
            first.result["symbols"][s]["equity_curve"]["equity"], expected.per_symbol[s].equity
        )
    assert first.result["trades"] == second.result["trades"]


def test_grid_shard_ranks_like_evaluate(sandbox: Sandbox, market: dict[str, Candles]) -> None:
    symbol = sorted(market)[0]
    sets = [{"fast": f, "slow": s} for f in (5, 10, 20) for s in (30, 60)]
    job = job_for([symbol], kind="optimization_shard", param_sets=sets, objective="sharpe")
    outcome = sandbox.run(job)
    assert isinstance(outcome, Succeeded), outcome
    rows = outcome.result["rankings"]
    want = evaluate("sma_cross", sets, {symbol: market[symbol]}, _config(), "sharpe")
    by_params = {tuple(sorted(e.params.items())): e.to_dict()["score"] for e in want}
    assert [r["score"] for r in rows] == sorted(
        (r["score"] for r in rows), key=lambda v: -(v if v is not None else -1e300)
    )
    assert {tuple(sorted(r["params"].items())): r["score"] for r in rows} == by_params
    # The rows' moments give the guards the whole search gives in-process.
    ranked = sorted(want, key=lambda e: -(e.score if e.score == e.score else -1e300))
    blocks = np.array([r["moments"] for r in rows]).transpose(1, 0, 2)
    assert guards_of(blocks, 0) == search_guards(ranked)


def test_describe_uploaded_file(sandbox: Sandbox, tmp_path: Path) -> None:
    code = tmp_path / "mine.py"
    code.write_text(
        "from kwont_quant import IntParameter, Signals, Strategy\n"
        "class Mine(Strategy):\n"
        "    '''Buy everything.'''\n"
        "    n = IntParameter(1, 9, default=3)\n"
        "    def generate(self, candles):\n"
        "        return Signals(enter_long=candles.close > 0)\n"
    )
    code.chmod(0o644)
    outcome = sandbox.describe(code)
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.result["strategy"]["class"] == "Mine"
    assert [p["name"] for p in outcome.result["strategy"]["parameters"]] == ["n"]


def test_missing_data_and_bad_params_fail_clearly(
    sandbox: Sandbox, market: dict[str, Candles]
) -> None:
    none = sandbox.run(job_for(["NOSUCHPAIR"]))
    assert isinstance(none, Failed) and none.cause == "data", none
    assert "no 1m candles for NOSUCHPAIR" in none.reason
    bad = sandbox.run(job_for(sorted(market)[:1], params={"fast": 50, "slow": 10}))
    assert isinstance(bad, Failed) and bad.cause == "config", bad
    assert "fast (50) must be below slow (10)" in bad.reason
