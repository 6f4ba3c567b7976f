"""Topic ``portfolio-snapshots``: an account's positions, balances and PnL, keyed by account."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kwont_common.events.envelope import Event
from kwont_common.events.fields import Account, Money, Symbol


class Balance(BaseModel):
    """Cash of one asset."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    asset: str = Field(min_length=1)
    total: Money
    locked: Money = Field(default=Decimal(0), ge=0)


class Position(BaseModel):
    """An open position with its mark."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    symbol: Symbol
    side: Literal["LONG", "SHORT"]
    quantity: Money = Field(gt=0)
    average_entry: Money = Field(gt=0)
    mark_price: Money | None = Field(None, gt=0)
    unrealized_pnl: Money = Field(default=Decimal(0))
    leverage: int = Field(1, ge=1)
    realized_pnl: Money = Field(default=Decimal(0))
    correlation_id: str | None = Field(
        None, description="Correlation id of the last fill that changed this position."
    )


class PortfolioSnapshot(Event):
    """The state of one account after a fill or a mark change."""

    account: Account
    balances: list[Balance] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)
    equity: Money
    realized_pnl: Money = Field(default=Decimal(0))
    unrealized_pnl: Money = Field(default=Decimal(0))
    fees_paid: Money = Field(default=Decimal(0), ge=0)

    def key(self) -> str:
        return self.account
