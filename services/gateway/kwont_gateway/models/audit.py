"""The audit log of admin actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from kwont_gateway.models.common import Page


class AuditEntry(BaseModel):
    """One admin action: who did it, how they were signed in, from where, and what changed."""

    id: str
    at: dt.datetime
    actor: str = Field(description="User id of the admin.")
    actor_name: str
    via: str = Field(examples=["token"])
    ip: str
    action: str = Field(examples=["user.update"])
    target: str = Field(examples=["usr_3f2a"])
    details: dict[str, Any]


class AuditPage(Page):
    """One page of the audit log, newest first."""

    items: list[AuditEntry]
