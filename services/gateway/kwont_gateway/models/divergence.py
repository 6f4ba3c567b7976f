"""Divergence reports: a deployment's live trades against its strategy re-run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from kwont_gateway.models.common import TimeSpec


class DivergenceCreate(BaseModel):
    """The range to compare, and the fill model of the re-run backtest."""

    start: TimeSpec
    end: TimeSpec
    slippage_bps: float = Field(
        0.0, ge=0, le=1000,
        description="Slippage of the re-run; 0 (the default) shows the live slippage whole.",
    )  # fmt: skip
    fee_bps: float | None = Field(
        None, ge=0, le=1000, description="Fee of the re-run (default: the account's fee)."
    )
    warmup_bars: int | None = Field(
        None, ge=0, le=100_000,
        description="Candles before start to warm the indicators up (default: a built-in "
        "strategy's own warm-up; 0 for an uploaded one).",
    )  # fmt: skip


class DivergenceAccepted(BaseModel):
    """A queued divergence job and where to follow it."""

    job_id: str
    status: str
    links: dict[str, str]


class DivergencePublic(BaseModel):
    """A divergence job: its status and progress, and the report once it succeeded
    (docs/divergence.md: every amount a decimal string, every time epoch ms)."""

    id: str
    deployment_id: str
    status: str
    progress: dict[str, Any]
    start_time: int
    end_time: int
    slippage_bps: float
    fee_bps: float
    warmup_bars: int
    submitted_at: dt.datetime
    finished_at: dt.datetime | None = None
    error: str | None = None
    report: dict[str, Any] | None = None
    links: dict[str, str]
