"""Grid searches: a parameter grid split into shards that runner replicas evaluate."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from kwont_gateway.models.common import ParamValue, RunSpec

Objective = Literal[
    "sharpe", "sortino", "calmar", "total_return", "cagr", "profit_factor", "expectancy",
    "win_rate", "final_equity", "max_drawdown",
]  # fmt: skip


class RangeSpec(BaseModel):
    """``start`` to ``stop`` inclusive by ``step``."""

    start: float
    stop: float
    step: float = Field(gt=0)


GridAxis = RangeSpec | list[ParamValue] | str


class WalkForward(BaseModel):
    """Walk-forward analysis: the history cut into rolling windows; the grid is searched on
    the first train_fraction of each, and the winner scored on the rest."""

    windows: int = Field(4, ge=2, le=50)
    train_fraction: float = Field(0.7, gt=0, lt=1)


class OptimizationCreate(RunSpec):
    """A grid search: every combination of ``grid`` (other params fixed by ``params``)."""

    grid: dict[str, GridAxis] = Field(
        min_length=1,
        description='Per parameter: {"start", "stop", "step"}, "start:stop:step", or a list.',
        examples=[{"fast": {"start": 5, "stop": 20, "step": 5}, "slow": [30, 50]}],
    )
    objective: Objective = "sharpe"
    walk_forward: WalkForward | None = None


class RankedRow(BaseModel):
    """One parameter combination with its objective score and metrics."""

    params: dict[str, Any]
    score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)


class GuardsPublic(BaseModel):
    """Overfitting guards of the winner (docs/api.md#overfitting-guards); Sharpe ratios per
    bar, not annualised; a figure that is undefined is null."""

    n_trials: int = Field(description="Parameter sets evaluated.")
    psr: float | None = Field(
        None, description="Probabilistic Sharpe ratio of the winner against 0 (Bailey & López "
        "de Prado 2012).",
    )  # fmt: skip
    dsr: float | None = Field(
        None, description="Deflated Sharpe ratio: PSR against the best Sharpe ratio n_trials "
        "skill-less trials are expected to show (Bailey & López de Prado 2014).",
    )  # fmt: skip
    pbo: float | None = Field(
        None, description="Probability of backtest overfitting by CSCV (Bailey, Borwein, "
        "López de Prado & Zhu 2017).",
    )  # fmt: skip
    sharpe: float | None = Field(None, description="The winner's per-bar Sharpe ratio.")
    expected_max_sharpe: float | None = Field(None, description="DSR's benchmark, per bar.")
    n_blocks: int = Field(description="CSCV's S: blocks of bars split into halves.")


class OptimizationPublic(BaseModel):
    """A grid search: its shards' progress, the ranking so far, and the winner's overfitting
    guards."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled", "cancelling"]
    strategy: str
    objective: str
    combinations: int
    shards_total: int
    shards_done: int
    shards_failed: int
    job_ids: list[str]
    submitted_at: dt.datetime
    ranking: list[RankedRow] = Field(default_factory=list)
    guards: GuardsPublic | None = Field(
        None, description="Once every shard succeeded: PSR, DSR and PBO of the winner."
    )
    walk_forward: dict[str, Any] | None = Field(
        None, description="When asked: status and per-window in/out-of-sample report."
    )
    links: dict[str, str]


class OptimizationAccepted(BaseModel):
    """A queued grid search: how many combinations, and the shard jobs that evaluate them."""

    optimization_id: str
    status: str
    combinations: int
    shards_total: int
    job_ids: list[str]
    links: dict[str, str]
