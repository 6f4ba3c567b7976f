"""Running one parsed job: a backtest, a grid shard, or describing a strategy file."""

from __future__ import annotations

import time
from typing import Any

from kwont_quant import (
    BacktestResult,
    Progress,
    describe_strategy,
    load_strategy,
    run_backtest,
)
from kwont_quant.montecarlo import monte_carlo_of
from kwont_quant.optimize import evaluate
from kwont_quant.walkforward import walk_forward
from kwont_sandbox import protocol
from kwont_sandbox.data import load_candles, load_funding
from kwont_sandbox.job import SandboxJob


def _curve(result: Any) -> dict[str, Any]:
    return {
        "encoding": protocol.SERIES_ENCODING,
        "open_time_ms": protocol.pack_series(result.open_time_ms),
        "equity": protocol.pack_series(result.equity),
    }


def _symbol_summary(r: BacktestResult, equity_curve: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "metrics": r.metrics.to_dict(),
        "final_equity": r.final_equity,
        "trade_count": len(r.trades),
    }
    if equity_curve:
        out["equity_curve"] = _curve(r)
    return out


def _on_progress(stage: str, lo: float, hi: float) -> Any:
    def report(p: Progress) -> None:
        protocol.progress(stage, lo + (hi - lo) * p.fraction)

    return report


def run_job(job: SandboxJob) -> dict[str, Any]:
    """The ``result`` line's payload for ``job``.

    Raises:
        StrategyLoadError, StrategyError, ParameterError, ConfigError, DataError: from
        kwont_quant and :func:`~kwont_sandbox.data.load_candles`;
        pymongo.errors.PyMongoError: market data unreachable.
    """
    if job.mode == "describe":
        return {"mode": "describe", "strategy": describe_strategy(load_strategy(job.strategy))}
    mark = time.perf_counter()
    cls = load_strategy(job.strategy)  # before the data: a broken upload fails fast
    protocol.timing("strategy", time.perf_counter() - mark)
    protocol.progress("loading", 0.0)
    mark = time.perf_counter()
    data = load_candles(job, lambda k, n: protocol.progress("loading", 0.3 * k / n))
    funding = load_funding(job, list(data)) if job.funding else None
    protocol.timing("load", time.perf_counter() - mark)
    mark = time.perf_counter()
    if job.mode == "walk_forward":
        symbol = job.symbols[0]  # walk-forward is per symbol
        wf = walk_forward(
            cls,
            job.walk_forward["grid"],
            data[symbol],
            job.config,
            int(job.walk_forward.get("windows", 4)),
            float(job.walk_forward.get("in_sample", 0.75)),
            job.objective,
            _on_progress("optimize", 0.3, 1.0),
            workers=job.workers,
            funding=None if funding is None else funding[symbol],
        )
        return {"mode": "walk_forward", "symbol": symbol, "walk_forward": wf.to_dict()}
    if job.mode == "shard":
        evals = evaluate(
            cls,
            job.param_sets,
            data,
            job.config,
            job.objective,
            _on_progress("optimize", 0.3, 1.0),
            workers=job.workers,
            funding=funding,
        )
        # moments: per-block power sums of the set's returns, from which the gateway computes
        # the whole grid's overfitting guards once every shard is in (a few numbers a row).
        rows = [
            dict(e.to_dict(), index=i, moments=None if e.moments is None else e.moments.tolist())
            for i, e in enumerate(evals)
        ]
        rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["index"]))
        return {"mode": "shard", "objective": job.objective, "rankings": rows}
    result = run_backtest(
        cls, data, job.config, job.params, _on_progress("backtest", 0.3, 1.0), funding=funding
    )
    mc = monte_carlo_of(result)
    trades = [t for r in result.per_symbol.values() for t in r.trades.to_list()]
    trades.sort(key=lambda t: (t["entry_time_ms"], t["symbol"]))
    out: dict[str, Any] = {
        "mode": "backtest",
        "strategy": result.strategy,
        "params": dict(result.params),
        "metrics": result.metrics.to_dict(),
        "final_equity": result.final_equity,
        "trades": trades,
        "symbols": {
            s: _symbol_summary(r, job.equity_curve and len(data) > 1)
            for s, r in result.per_symbol.items()
        },
        "candles": {s: len(c) for s, c in data.items()},
        "monte_carlo": mc.to_dict() if mc else None,
    }
    if job.equity_curve:
        out["equity_curve"] = _curve(result)
    protocol.timing("engine", time.perf_counter() - mark)
    return out
