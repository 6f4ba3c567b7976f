"""The divergence job's decisions: the re-run's window and which of its trades count."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kwont_backtest_runner.divergence_job import backtest_side, replay_job
from kwont_common.events import BacktestJob, StrategyRef
from kwont_quant import BacktestConfig, run_backtest
from kwont_quant.synthetic import gbm_ohlcv

HOUR = 3_600_000


def job(**over: object) -> BacktestJob:
    fields: dict[str, object] = dict(
        event_time=0, source="test", job_id="dv_1", owner="u1", kind="divergence",
        deployment_id="dep_1", account="paper-1", strategy=StrategyRef(name="sma_cross"),
        symbols=["BTCUSDT"], interval="1h", start_time=100 * HOUR, end_time=200 * HOUR,
        cash=Decimal(1000), warmup_bars=30,
    )  # fmt: skip
    fields.update(over)
    return BacktestJob.model_validate(fields)


def test_the_rerun_loads_the_warmup_before_the_range_as_a_plain_backtest() -> None:
    rerun = replay_job(job())
    assert (rerun.kind, rerun.start_time, rerun.end_time) == ("backtest", 70 * HOUR, 200 * HOUR)
    assert rerun.job_id == "dv_1"  # progress and cancelling follow the divergence job
    assert replay_job(job(warmup_bars=500)).start_time == 0  # not before the epoch


def test_a_divergence_job_needs_its_deployment() -> None:
    with pytest.raises(ValueError, match="deployment_id and account"):
        job(deployment_id=None)


def test_only_trades_inside_the_range_and_closed_count() -> None:
    candles = gbm_ohlcv(600, seed=3)
    rows = run_backtest("sma_cross", candles, BacktestConfig(close_at_end=True),
                        {"fast": 5, "slow": 20}, symbol="BTCUSDT").trades.to_list()  # fmt: skip
    start = int(candles.open_time_ms[300])
    kept = backtest_side(rows, start)
    want = [r for r in rows if r["entry_time_ms"] >= start and r["exit_reason"] == "signal"]
    assert rows[-1]["exit_reason"] == "end_of_data" and len(want) >= 3
    assert [t.entry_time_ms for t in kept] == [r["entry_time_ms"] for r in want]
    assert all(t.symbol == "BTCUSDT" for t in kept)
