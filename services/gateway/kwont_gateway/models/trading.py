"""Deployments, portfolios, orders, fills and performance analysis."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from kwont_common.events.fields import Interval
from kwont_gateway.models.common import ParamValue, SymbolName


class DeploymentCreate(BaseModel):
    """Run a strategy live (``binance``) or on the paper venue."""

    account: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", examples=["paper-1"])
    strategy: str = Field(min_length=1, max_length=80, examples=["sma_cross"])
    version: int | None = Field(None, ge=1)
    params: dict[str, ParamValue] = Field(default_factory=dict, examples=[{"fast": 10, "slow": 30}])
    symbols: list[SymbolName] = Field(min_length=1, max_length=50, examples=[["BTCUSDT"]])
    interval: Interval = "1h"
    venue: Literal["paper", "binance"] = "paper"


class DeploymentPublic(BaseModel):
    """A strategy trading an account on a venue, running or stopped."""

    id: str
    account: str
    strategy: str
    version: int | None = None
    params: dict[str, Any]
    symbols: list[str]
    interval: str
    venue: str
    status: Literal["running", "stopped"]
    created_at: dt.datetime
    stopped_at: dt.datetime | None = None


class PortfolioPublic(BaseModel):
    """The latest snapshot of one account."""

    account: str
    equity: str | None = None
    realized_pnl: str | None = None
    unrealized_pnl: str | None = None
    fees_paid: str | None = None
    balances: list[dict[str, Any]] = Field(default_factory=list)
    positions: list[dict[str, Any]] = Field(default_factory=list)
    updated_at: int | None = Field(None, description="event_time of the snapshot, epoch ms.")


class KillSwitchPublic(BaseModel):
    """The risk gate's kill switch of an account (docs/risk.md)."""

    tripped: bool
    active: bool = Field(description="Tripped and not past the UTC day it tripped on.")
    code: str | None = Field(None, description="The rule that tripped it.")
    reason: str | None = None
    since: int | None = Field(None, description="When it tripped, epoch ms.")


class PortfolioDetail(PortfolioPublic):
    """An account's latest snapshot and its kill switch."""

    kill_switch: KillSwitchPublic | None = None


class EquityCurve(BaseModel):
    """An account's equity over time."""

    account: str
    points: list[list[float]] = Field(description="[[time_ms, equity], ...]")


class OrderPublic(BaseModel):
    """An order of one of your accounts, with every field it was stored with."""

    model_config = {"extra": "allow"}
    account: str
    symbol: str
    client_order_id: str
    status: str | None = None
    event_time: int


class FillPublic(BaseModel):
    """A fill of one of your accounts; quantity and price as decimal strings."""

    model_config = {"extra": "allow"}
    account: str
    symbol: str
    trade_id: str
    side: str
    quantity: str
    price: str
    event_time: int


class Performance(BaseModel):
    """Metrics of an account's equity curve over a period (fractions, not percent)."""

    account: str
    start_time: int | None = None
    end_time: int | None = None
    points: int
    start_equity: float | None = None
    end_equity: float | None = None
    total_return: float | None = None
    cagr: float | None = None
    volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    max_drawdown: float | None = None
