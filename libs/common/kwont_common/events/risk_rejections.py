"""Topic ``risk-rejections``: signals risk refused, with the reason. A refusal is an event,
not an exception."""

from __future__ import annotations

import uuid

from pydantic import Field

from kwont_common.events.envelope import AccountEvent


class RiskRejection(AccountEvent):
    """A refused signal: a machine ``code`` (e.g. ``max_position_notional``) and a human
    ``reason``."""

    signal_id: uuid.UUID
    code: str = Field(pattern=r"^[a-z_]+$")
    reason: str = Field(min_length=1)
