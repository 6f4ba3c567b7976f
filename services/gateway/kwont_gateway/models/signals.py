"""Signals of your deployments and the risk gate's refusals of them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SignalPublic(BaseModel):
    """A deployment's decision on one closed candle (the ``signals`` event as stored)."""

    model_config = {"extra": "allow"}
    event_id: str = Field(description="The signal id; every order and fill it caused carries "
                          "it as correlation_id.")  # fmt: skip
    correlation_id: str
    account: str
    symbol: str
    deployment_id: str
    strategy: str
    interval: str
    action: str = Field(examples=["enter_long"])
    exit_side: str | None = None
    candle_open_time: int
    reference_price: float
    venue: str
    size_hint: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    stop_loss_pct: float | None = None
    take_profit_pct: float | None = None
    event_time: int


class RiskRejectionPublic(BaseModel):
    """A signal the risk gate refused: a machine ``code`` and a human ``reason``."""

    model_config = {"extra": "allow"}
    event_id: str
    signal_id: str
    correlation_id: str
    deployment_id: str | None = None
    account: str
    symbol: str
    code: str = Field(examples=["max_open_positions"])
    reason: str
    event_time: int


class TrailPublic(BaseModel):
    """What one signal caused, by its id (the chain's ``correlation_id``): the signal, the
    risk gate's refusals of it, the orders it became and their fills, each oldest first."""

    correlation_id: str
    outcome: str = Field(description="`rejected`, `filled`, `ordered`, or `pending` (no "
                         "answer from the risk gate stored yet).")  # fmt: skip
    signal: SignalPublic | None = Field(
        None, description="None when only later records of the chain are stored."
    )
    rejections: list[RiskRejectionPublic] = Field(default_factory=list)
    orders: list[dict[str, Any]] = Field(default_factory=list, description="Order updates.")
    fills: list[dict[str, Any]] = Field(default_factory=list)
