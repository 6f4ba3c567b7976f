"""Parameter optimisation: grid expansion, (sharded) evaluation, grid search and
walk-forward analysis.

Evaluations run on a thread pool with one worker per core: the engine and indicator
loops are compiled with ``nogil`` and numpy releases the GIL on large arrays, so
threads use every core without pickling user strategy classes (which a process pool
would need). Results come back in input order, so a sweep is deterministic however
the work was scheduled. Progress callbacks are made from the calling thread.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kwont_quant._memo import Shared, sharing
from kwont_quant.backtest import (
    FundingSpec,
    Progress,
    ProgressCallback,
    StrategySpec,
    run_backtest,
)
from kwont_quant.candles import F64, Candles
from kwont_quant.config import BacktestConfig
from kwont_quant.errors import ConfigError, ParameterError
from kwont_quant.loader import load_strategy
from kwont_quant.metrics import Metrics
from kwont_quant.overfitting import Guards, block_moments, blocks_for, guards_of, returns_of
from kwont_quant.seam import instantiate
from kwont_quant.strategy import Strategy

# Objective name -> (metric, direction). Higher score is better.
OBJECTIVES: dict[str, tuple[str, float]] = {
    "sharpe": ("sharpe", 1.0),
    "sortino": ("sortino", 1.0),
    "calmar": ("calmar", 1.0),
    "total_return": ("total_return", 1.0),
    "cagr": ("cagr", 1.0),
    "profit_factor": ("profit_factor", 1.0),
    "expectancy": ("expectancy", 1.0),
    "win_rate": ("win_rate", 1.0),
    "final_equity": ("final_equity", 1.0),
    "max_drawdown": ("max_drawdown", -1.0),
}


def check_objective(objective: str) -> None:
    """Raises:
    ConfigError: ``objective`` is not a key of :data:`OBJECTIVES`."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r} (one of {', '.join(OBJECTIVES)})")


def score_of(metrics: Metrics, objective: str) -> float:
    """The objective's score (higher is better; NaN when undefined).

    Raises:
        ConfigError: unknown objective.
    """
    check_objective(objective)
    key, direction = OBJECTIVES[objective]
    return float(getattr(metrics, key)) * direction


def parse_range(spec: str) -> list[str]:
    """``start:stop:step`` (inclusive stop), ``a,b,c`` or a single value, as strings
    for the parameter to parse.

    Raises:
        ParameterError: malformed range or non-positive step.
    """
    if ":" not in spec:
        return [v.strip() for v in spec.split(",") if v.strip()]
    parts = spec.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError(spec)
        nums = [float(x) for x in parts]
    except ValueError as exc:
        raise ParameterError(f"bad range {spec!r}: use start:stop:step") from exc
    start, stop = nums[0], nums[1]
    step = nums[2] if len(nums) == 3 else 1.0
    if not (step > 0 and math.isfinite(start) and math.isfinite(stop)):
        raise ParameterError(f"bad range {spec!r}: use start:stop:step with step > 0")
    count = math.floor((stop - start) / step + 1e-9) + 1
    integral = all(float(x).is_integer() for x in (start, step))
    values = [start + k * step for k in range(max(count, 0))]
    return [str(int(v)) if integral else repr(round(v, 12)) for v in values]


def _as_class(strategy: StrategySpec) -> type[Strategy]:
    if isinstance(strategy, Strategy):
        return type(strategy)
    return strategy if isinstance(strategy, type) else load_strategy(strategy)


def expand_grid(
    strategy: StrategySpec, grid: Mapping[str, Sequence[object]]
) -> list[dict[str, Any]]:
    """Every combination of ``grid`` values as validated parameter dicts.

    Parameters not in ``grid`` keep their defaults; combinations the strategy refuses
    (its ``check``, e.g. fast >= slow) are skipped. Order: the cartesian product in
    the grid's key order, so shards cut from this list are stable.

    Raises:
        ParameterError: an unknown parameter name or a value outside its range.
        StrategyLoadError: ``strategy`` cannot be resolved.
    """
    cls = _as_class(strategy)
    specs = cls.parameters()
    names = list(grid)
    columns = []
    for name in names:
        if name not in specs:
            raise ParameterError(
                f"{cls.strategy_name()} has no parameter {name!r} "
                f"(known: {', '.join(specs) or 'none'})"
            )
        columns.append([specs[name].validate(v) for v in grid[name]])
    out: list[dict[str, Any]] = []
    for combo in itertools.product(*columns):
        params = dict(zip(names, combo, strict=True))
        try:
            instantiate(cls, params)
        except ParameterError:
            continue
        out.append(params)
    return out


@dataclass(frozen=True)
class Evaluation:
    """One parameter set's score and metrics; ``moments`` are the power sums of its
    per-bar returns in blocks (:func:`~kwont_quant.overfitting.block_moments`), what the
    overfitting guards of a whole search are computed from (None: too few bars)."""

    params: dict[str, Any]
    score: float
    metrics: Metrics
    moments: F64 | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The evaluation as JSON: parameters, score (None when not finite) and metrics."""
        return {
            "params": dict(self.params),
            "score": self.score if math.isfinite(self.score) else None,
            "metrics": self.metrics.to_dict(),
        }


def _rank(e: Evaluation) -> float:
    return e.score if not math.isnan(e.score) else -math.inf


def evaluate(
    strategy: StrategySpec,
    param_sets: Sequence[Mapping[str, object]],
    data: Candles | Mapping[str, Candles],
    config: BacktestConfig | None = None,
    objective: str = "sharpe",
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    start: int = 0,
    guards: bool = True,
    funding: FundingSpec = None,
) -> list[Evaluation]:
    """Backtest each of ``param_sets`` (e.g. one shard of a grid), in input order.

    Indicators of ``data`` are computed once per distinct window and shared across the
    sets (:mod:`kwont_quant._memo`). ``guards=False`` leaves out the block moments the
    overfitting guards need (``Evaluation.moments`` is None). ``funding``: as for
    :func:`~kwont_quant.backtest.run_backtest`.

    Raises:
        ConfigError: unknown objective; ParameterError / StrategyError /
        StrategyLoadError from any set (the sweep stops at the first failure).
    """
    cls = _as_class(strategy)
    check_objective(objective)
    cfg = config or BacktestConfig()
    total = len(param_sets)
    shared = Shared([data] if isinstance(data, Candles) else data.values())

    def one(params: Mapping[str, object]) -> Evaluation:
        with sharing(shared):
            if isinstance(data, Candles):
                r = run_backtest(cls, data, cfg, params, start=start, funding=funding)
                m, equity = r.metrics, r.equity[start:]
            else:
                p = run_backtest(cls, data, cfg, params, funding=funding)
                m, equity = p.metrics, p.equity
        moments = None
        if guards and equity.shape[0] >= 5:
            returns = returns_of(equity)
            moments = block_moments(returns, blocks_for(returns.shape[0]))
        return Evaluation(dict(params), score_of(m, objective), m, moments)

    n_workers = max(1, min(workers or os.cpu_count() or 1, total or 1))
    if n_workers == 1 or total < 2:
        results = []
        for k, p in enumerate(param_sets):
            results.append(one(p))
            if progress:
                progress(Progress("optimize", k + 1, total))
        return results
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="kwont-opt") as pool:
        futures = [pool.submit(one, p) for p in param_sets]
        pending = set(futures)
        done_count = 0
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION, timeout=0.2)
            for fut in done:
                exc = fut.exception()
                if exc is not None:
                    for other in pending:
                        other.cancel()
                    raise exc
            if done and progress:
                done_count += len(done)
                progress(Progress("optimize", done_count, total))
        return [f.result() for f in futures]


def search_guards(ranked: Sequence[Evaluation]) -> Guards | None:
    """The overfitting guards of a search whose evaluations are ``ranked`` best first:
    PSR and DSR of the winner, PBO of the search (:mod:`kwont_quant.overfitting`). None
    when an evaluation has no moments (too few bars)."""
    blocks = [e.moments for e in ranked]
    if not blocks or any(b is None for b in blocks):
        return None
    return guards_of(np.stack([b for b in blocks if b is not None], axis=1), 0)


@dataclass(frozen=True)
class OptimizationResult:
    """A grid search: every evaluation, best first (ties keep grid order), and the
    overfitting guards of its winner."""

    objective: str
    evaluations: list[Evaluation]
    guards: Guards | None = None

    @property
    def best(self) -> Evaluation:
        """The best evaluation (the list is sorted best first)."""
        return self.evaluations[0]

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON: objective, best, guards and every evaluation."""
        return {
            "objective": self.objective,
            "best": self.best.to_dict() if self.evaluations else None,
            "guards": self.guards.to_dict() if self.guards else None,
            "evaluations": [e.to_dict() for e in self.evaluations],
        }


def grid_search(
    strategy: StrategySpec,
    grid: Mapping[str, Sequence[object]],
    data: Candles | Mapping[str, Candles],
    config: BacktestConfig | None = None,
    objective: str = "sharpe",
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    guards: bool = True,
    funding: FundingSpec = None,
) -> OptimizationResult:
    """Expand ``grid``, evaluate every set on all cores, rank by ``objective``;
    ``guards=False`` skips the overfitting guards (``guards`` of the result is None);
    ``funding`` as for :func:`~kwont_quant.backtest.run_backtest`.

    Raises:
        ConfigError: unknown objective or a grid with no valid combination; and the
        errors of :func:`expand_grid` and :func:`evaluate`.
    """
    sets = expand_grid(strategy, grid)
    if not sets:
        raise ConfigError("the grid has no valid parameter combination")
    evals = evaluate(
        strategy, sets, data, config, objective, progress, workers, guards=guards, funding=funding
    )
    ranked = sorted(evals, key=_rank, reverse=True)
    return OptimizationResult(objective, ranked, search_guards(ranked))
