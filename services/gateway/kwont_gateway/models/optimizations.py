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
    params: dict[str, Any]
    score: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)


class OptimizationPublic(BaseModel):
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
    walk_forward: dict[str, Any] | None = Field(
        None, description="When asked: status and per-window in/out-of-sample report."
    )
    links: dict[str, str]


class OptimizationAccepted(BaseModel):
    optimization_id: str
    status: str
    combinations: int
    shards_total: int
    job_ids: list[str]
    links: dict[str, str]
