"""Backtests: submission, state and result."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from kwont_gateway.models.common import Page, ParamValue, RunSpec

Status = Literal["queued", "running", "cancelling", "succeeded", "failed", "cancelled"]


class BacktestCreate(RunSpec):
    """A backtest of one strategy over symbols (or a symbol filter) and a period."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "strategy": "sma_cross",
                    "params": {"fast": 10, "slow": 30},
                    "symbols": ["BTCUSDT"],
                    "interval": "1h",
                    "start": "2024-01-01T00:00:00Z",
                    "end": "2024-03-01T00:00:00Z",
                    "cash": "10000",
                    "fee_bps": 10,
                }
            ]
        }
    }


class BacktestAccepted(BaseModel):
    """A queued backtest: its id, the WebSocket that streams its progress, and its links."""

    job_id: str
    status: Status
    ws_url: str = Field(examples=["/ws/backtests/bt_0123"])
    links: dict[str, str]


class Progress(BaseModel):
    """How far a job is: its stage and the fraction done (0 to 1)."""

    stage: str = Field(examples=["running"])
    fraction: float = Field(ge=0, le=1)
    message: str | None = None


class StrategyRefPublic(BaseModel):
    """The strategy a job runs: a built-in, or one of your uploads at a version."""

    name: str
    builtin: bool
    version: int | None = None


class BacktestPublic(BaseModel):
    """A backtest job: what it runs, its status and progress, and links to its result."""

    id: str
    status: Status
    progress: Progress
    strategy: StrategyRefPublic
    params: dict[str, ParamValue]
    symbols: list[str]
    interval: str
    start_time: int
    end_time: int
    submitted_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None
    runner: str | None = None
    from_cache: bool = False
    stages: dict[str, float] | None = Field(
        None,
        description="Seconds per stage of the run, as the runner timed them "
        "(docs/sandbox.md#where-the-time-goes).",
    )
    links: dict[str, str]


class BacktestPage(Page):
    """One page of your backtests, newest first."""

    items: list[BacktestPublic]


class Bands(BaseModel):
    """5th, 50th and 95th percentiles over the paths."""

    final_equity_p5: float
    final_equity_p50: float
    final_equity_p95: float
    max_drawdown_p5: float
    max_drawdown_p50: float
    max_drawdown_p95: float


class MonteCarloPublic(BaseModel):
    """The trade sequence resampled (docs/api.md#monte-carlo-bands)."""

    paths: int
    seed: int
    trades: int = Field(description="Closed trades resampled.")
    permutation: Bands = Field(description="Each trade once, in a shuffled order.")
    bootstrap: Bands = Field(description="As many trades drawn with replacement.")


class BacktestResultPublic(BaseModel):
    """A finished backtest: metrics, final equity, a downsampled equity curve and Monte Carlo
    bands."""

    job_id: str
    metrics: dict[str, Any]
    final_equity: str | None = None
    trade_count: int = Field(description="Trades in the result; page them at links.trades.")
    equity: list[list[float]] = Field(description="[[time_ms, equity], ...] (downsampled).")
    equity_points: int = Field(description="Points in the full curve.")
    per_symbol: dict[str, Any] = Field(default_factory=dict)
    monte_carlo: MonteCarloPublic | None = Field(
        None, description="Bands of final equity and max drawdown; null without closed trades."
    )
    content_hash: str | None = None
    duration_ms: int | None = None
    links: dict[str, str] = Field(default_factory=dict)


class TradePage(BaseModel):
    """One page of a result's trades; ``next_cursor`` is null on the last page."""

    items: list[dict[str, Any]] = Field(
        description="Trades in entry order: side, entry/exit time and price, qty, fees, "
        "funding (jobs with funding on), pnl, exit_reason, symbol."
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    total: int = Field(description="Trades in the whole result.")
