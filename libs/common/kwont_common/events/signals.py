"""Topic ``signals``: a strategy deployment's decision on one closed candle."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kwont_common.events.envelope import AccountEvent
from kwont_common.events.fields import EpochMs, Interval, Venue

SignalAction = Literal["enter_long", "enter_short", "exit"]


class Signal(AccountEvent):
    """At most one per deployment and candle. Its ``correlation_id`` equals its ``event_id``."""

    deployment_id: str = Field(min_length=1)
    strategy: str = Field(min_length=1)
    interval: Interval
    action: SignalAction
    candle_open_time: EpochMs
    reference_price: float = Field(
        gt=0, description="Close of the candle that caused it; JSON number (float)."
    )
    venue: Venue = "paper"
    stop_loss: float | None = Field(
        None, gt=0, description="Stop-loss price, if any; JSON number (float)."
    )
    take_profit: float | None = Field(
        None, gt=0, description="Take-profit price, if any; JSON number (float)."
    )
    size_hint: float | None = Field(
        None, gt=0, le=1, description="Fraction-of-equity hint; JSON number (float)."
    )
    exit_side: Literal["long", "short"] | None = Field(
        None,
        description="For `exit`: which position side it closes (None: either). The "
        "strategy does not know the position; risk and execution resolve it.",
    )
    stop_loss_pct: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Stop-loss as a fraction of the entry fill price; JSON number (float).",
    )
    take_profit_pct: float | None = Field(
        None,
        gt=0,
        description="Take-profit as a fraction of the entry fill price; JSON number (float).",
    )
