"""Walk-forward analysis: optimise in-sample, score the winner out-of-sample, roll on.

The history is cut into ``windows`` rolling windows. Each has an in-sample part
(``in_sample`` of a window's span, 75 % by default) on which the grid is searched, and
the out-of-sample part right after it, on which only the in-sample winner is run.
Out-of-sample parts follow each other without overlap, so together they are a fair
"as if traded" record; comparing in-sample and out-of-sample scores shows overfitting.
Each out-of-sample backtest is fed the candles before it (the strategy's live window)
so its indicators are warm, but trades only inside its own span.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kwont_quant.backtest import Progress, ProgressCallback, StrategySpec
from kwont_quant.candles import Candles
from kwont_quant.config import BacktestConfig
from kwont_quant.errors import ConfigError
from kwont_quant.funding import FundingRates
from kwont_quant.optimize import Evaluation, check_objective, evaluate, expand_grid, grid_search
from kwont_quant.optimize import _as_class as as_class
from kwont_quant.results import iso_utc
from kwont_quant.seam import call_user, instantiate


@dataclass(frozen=True)
class WindowResult:
    """One walk-forward window: the in-sample winner and its out-of-sample score."""

    in_sample_start_ms: int
    in_sample_end_ms: int
    out_of_sample_start_ms: int
    out_of_sample_end_ms: int
    best: Evaluation
    out_of_sample: Evaluation

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the window's ISO-8601 bounds, the winning params and both scores."""
        return {
            "in_sample": [iso_utc(self.in_sample_start_ms), iso_utc(self.in_sample_end_ms)],
            "out_of_sample": [
                iso_utc(self.out_of_sample_start_ms),
                iso_utc(self.out_of_sample_end_ms),
            ],
            "params": dict(self.best.params),
            "in_sample_score": _finite(self.best.score),
            "out_of_sample_score": _finite(self.out_of_sample.score),
            "out_of_sample_metrics": self.out_of_sample.metrics.to_dict(),
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class WalkForwardResult:
    """All windows, plus the mean in-sample and out-of-sample scores."""

    objective: str
    windows: list[WindowResult]

    @property
    def mean_in_sample(self) -> float:
        """The mean of the windows' in-sample winning scores (non-finite ones skipped; NaN when
        none is)."""
        return _mean([w.best.score for w in self.windows])

    @property
    def mean_out_of_sample(self) -> float:
        """The mean of the windows' out-of-sample scores (non-finite ones skipped; NaN when
        none is)."""
        return _mean([w.out_of_sample.score for w in self.windows])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: objective, mean scores (None when not finite) and every window."""
        return {
            "objective": self.objective,
            "mean_in_sample_score": _finite(self.mean_in_sample),
            "mean_out_of_sample_score": _finite(self.mean_out_of_sample),
            "windows": [w.to_dict() for w in self.windows],
        }


def _mean(xs: list[float]) -> float:
    vals = [x for x in xs if math.isfinite(x)]
    return sum(vals) / len(vals) if vals else math.nan


def walk_forward(
    strategy: StrategySpec,
    grid: Mapping[str, Sequence[object]],
    data: Candles,
    config: BacktestConfig | None = None,
    windows: int = 4,
    in_sample: float = 0.75,
    objective: str = "sharpe",
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    funding: FundingRates | None = None,
) -> WalkForwardResult:
    """Rolling walk-forward over ``windows`` windows (see the module docstring);
    ``funding``: the symbol's funding rows, paid in and out of sample.

    Raises:
        ConfigError: fewer than 1 window, ``in_sample`` outside (0, 1), or windows too
            short for the strategy's warm-up; plus the errors of :func:`grid_search`.
    """
    check_objective(objective)
    if windows < 1 or not (0.0 < in_sample < 1.0):
        raise ConfigError("walk-forward needs windows >= 1 and 0 < in_sample < 1")
    cls = as_class(strategy)
    sets = expand_grid(cls, grid)
    if not sets:
        raise ConfigError("the grid has no valid parameter combination")
    n = len(data)
    # n = is_len + windows * oos_len with is_len = oos_len * in_sample / (1 - in_sample)
    ratio = in_sample / (1.0 - in_sample)
    oos_len = int(n / (ratio + windows))
    is_len = n - windows * oos_len
    warm = max(call_user("warmup", instantiate(cls, p).warmup) for p in sets)
    if oos_len < 2 or is_len <= warm + 1:
        raise ConfigError(
            f"{n} candles are too few for {windows} walk-forward windows "
            f"(in-sample {is_len}, out-of-sample {oos_len}, warm-up {warm})"
        )
    results = []
    t = data.open_time_ms
    for w in range(windows):
        is_start = w * oos_len
        oos_start = is_start + is_len
        oos_end = oos_start + oos_len
        search = grid_search(
            cls,
            grid,
            data[is_start:oos_start],
            config,
            objective,
            None,
            workers,
            funding=funding,
        )
        best = search.best
        lookback = call_user("live_window", instantiate(cls, best.params).live_window)
        feed_from = max(0, oos_start - lookback)
        oos = evaluate(
            cls,
            [best.params],
            data[feed_from:oos_end],
            config,
            objective,
            start=oos_start - feed_from,
            funding=funding,
        )[0]
        results.append(
            WindowResult(
                int(t[is_start]),
                int(t[oos_start - 1]),
                int(t[oos_start]),
                int(t[oos_end - 1]),
                best,
                oos,
            )
        )
        if progress:
            progress(Progress("walk_forward", w + 1, windows))
    return WalkForwardResult(objective, results)
