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
    total: Money = Field(description="Total balance of `asset`; decimal string.")
    locked: Money = Field(
        default=Decimal(0), ge=0, description="Part of `total` held by orders; decimal string."
    )


class Position(BaseModel):
    """An open position with its mark."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    symbol: Symbol
    side: Literal["LONG", "SHORT"]
    quantity: Money = Field(gt=0, description="Open base-asset quantity; decimal string.")
    average_entry: Money = Field(gt=0, description="Average entry price; decimal string.")
    mark_price: Money | None = Field(
        None, gt=0, description="Price the position is marked at; decimal string."
    )
    unrealized_pnl: Money = Field(
        default=Decimal(0), description="PnL at `mark_price`, in quote asset; decimal string."
    )
    leverage: int = Field(1, ge=1)
    realized_pnl: Money = Field(
        default=Decimal(0), description="PnL booked by closing fills; decimal string."
    )
    correlation_id: str | None = Field(
        None, description="Correlation id of the last fill that changed this position."
    )
    funding: Money = Field(
        default=Decimal(0),
        description="Funding paid by this position (< 0: received), not in `realized_pnl`; "
        "decimal string.",
    )


class PortfolioSnapshot(Event):
    """The state of one account after a fill or a mark change."""

    account: Account
    balances: list[Balance] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)
    equity: Money = Field(
        description="Balances plus unrealized PnL, in quote asset; decimal string."
    )
    realized_pnl: Money = Field(
        default=Decimal(0), description="Realized PnL of the account; decimal string."
    )
    unrealized_pnl: Money = Field(
        default=Decimal(0), description="Unrealized PnL of open positions; decimal string."
    )
    fees_paid: Money = Field(
        default=Decimal(0), ge=0, description="Fees paid so far; decimal string."
    )
    funding_paid: Money = Field(
        default=Decimal(0),
        description="Funding paid so far (< 0: received), already off the balance; net PnL = "
        "realized_pnl - fees_paid - funding_paid; decimal string.",
    )

    def key(self) -> str:
        """The account: its snapshots stay in order."""
        return self.account
