"""Topic ``backtest-results``: a job's outcome, keyed ``job_id``. The full result (trades,
equity curve) is stored in MongoDB; this event carries the summary."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kwont_common.events.envelope import Event
from kwont_common.events.fields import Money

JobStatus = Literal["succeeded", "failed", "cancelled"]


class BacktestResult(Event):
    """Final state of a job; exactly one is stored per ``job_id``."""

    job_id: str = Field(min_length=1)
    status: JobStatus
    error: str | None = Field(None, description="Why it failed, in words a user understands.")
    metrics: dict[str, float | None] = Field(
        default_factory=dict, description="Metric name -> JSON number (float), or null."
    )
    final_equity: Money | None = Field(
        None, description="Equity at the end of the run, in quote asset; decimal string."
    )
    trade_count: int = Field(0, ge=0)
    from_cache: bool = False
    content_hash: str | None = None
    duration_ms: int = Field(0, ge=0)
    runner: str | None = None
    optimization_id: str | None = None
    ranking: list[dict[str, Any]] | None = Field(
        None, description="Grid shard: parameter sets with their objective score."
    )

    def key(self) -> str:
        """The job id, like the job it answers."""
        return self.job_id
