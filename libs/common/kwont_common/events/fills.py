"""Topic ``fills``: executions, with the venue's trade id."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kwont_common.events.envelope import AccountEvent
from kwont_common.events.fields import Money, Side, Venue

ExitReason = Literal["signal", "stop_loss", "take_profit", "liquidation"]


class Fill(AccountEvent):
    """One execution. ``(venue, trade_id)`` identifies it; a replay must not book it twice."""

    client_order_id: str = Field(min_length=1)
    venue: Venue
    trade_id: str = Field(min_length=1)
    side: Side
    quantity: Money = Field(gt=0, description="Filled base-asset quantity; decimal string.")
    price: Money = Field(gt=0, description="Fill price, quote per base unit; decimal string.")
    fee: Money = Field(ge=0, description="Fee charged, in `fee_asset`; decimal string.")
    fee_asset: str = "USDT"
    reduce_only: bool = False
    exit_reason: ExitReason | None = None
