"""Job quotas: a user's own, and the admin's overrides per user and role."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class QuotaSet(BaseModel):
    """A queued-jobs limit to set for a user or a role."""

    max_queued: int = Field(ge=0, le=100_000, description="Jobs that may wait at once (0: none).")


class QuotaOverride(BaseModel):
    """One override: whom it is for, the limit, who set it last."""

    scope: Literal["user", "role"]
    target: str = Field(description="The user id or the role.")
    max_queued: int
    updated_at: dt.datetime | None = None
    updated_by: str | None = None


class QuotaTable(BaseModel):
    """The default limit (setting ``KWONT_QUOTA_MAX_QUEUED``) and every override."""

    default_max_queued: int
    overrides: list[QuotaOverride]


class QuotaUsage(BaseModel):
    """Your limit, where it comes from, and how many of your jobs are queued now."""

    max_queued: int
    source: Literal["user", "role", "default"]
    queued: int
