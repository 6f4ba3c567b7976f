"""Topic ``orders``: orders approved by risk, for execution."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, model_validator

from kwont_common.events.envelope import AccountEvent
from kwont_common.events.fields import EpochMs, Interval, Money, Side, Venue


class Order(AccountEvent):
    """An approved order. ``client_order_id`` is derived from the signal, so a replayed signal
    can never place a second order at the venue."""

    client_order_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,36}$")
    signal_id: uuid.UUID
    venue: Venue
    side: Side
    order_type: Literal["MARKET", "LIMIT"] = "MARKET"
    quantity: Money = Field(gt=0, description="Base-asset quantity to trade; decimal string.")
    limit_price: Money | None = Field(
        None, gt=0, description="Limit price (LIMIT orders only); decimal string."
    )
    reduce_only: bool = False
    leverage: int = Field(1, ge=1, le=125)
    stop_loss: Money | None = Field(None, gt=0, description="Stop-loss price; decimal string.")
    take_profit: Money | None = Field(None, gt=0, description="Take-profit price; decimal string.")
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
    reference_price: float | None = Field(
        None,
        gt=0,
        description="The price the signal saw (its candle's close): market data, so a JSON "
        "number (float).",
    )
    interval: Interval | None = Field(None, description="Interval of the signal's candles.")
    candle_open_time: EpochMs | None = Field(
        None, description="Open time of the candle whose close caused the signal."
    )

    @model_validator(mode="after")
    def _limit_has_price(self) -> Order:
        if self.order_type == "LIMIT" and self.limit_price is None:
            raise ValueError("a LIMIT order needs limit_price")
        return self
