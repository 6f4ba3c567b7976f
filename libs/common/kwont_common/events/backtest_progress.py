"""Topic ``backtest-progress``: how far a job has come, keyed ``job_id``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kwont_common.events.envelope import Event

Stage = Literal["queued", "starting", "loading", "running", "storing", "done"]


class BacktestProgress(Event):
    """A progress report; ``fraction`` runs from 0 to 1 within a job."""

    job_id: str = Field(min_length=1)
    stage: Stage
    fraction: float = Field(ge=0, le=1, description="Share done, 0 to 1; JSON number (float).")
    message: str | None = None
    runner: str | None = Field(None, description="Runner replica that reports it.")

    def key(self) -> str:
        """The job id, so a job's progress stays in order."""
        return self.job_id
