"""Topic ``order-updates``: an order's state at the venue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kwont_common.events.envelope import AccountEvent
from kwont_common.events.fields import Money, Venue

OrderStatus = Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"]


class OrderUpdate(AccountEvent):
    """A change of an order's state (Binance order-status names)."""

    client_order_id: str = Field(min_length=1)
    venue: Venue
    venue_order_id: str | None = None
    status: OrderStatus
    filled_quantity: Money = Field(
        ge=0, description="Base-asset quantity filled so far; decimal string."
    )
    average_price: Money | None = Field(
        None, gt=0, description="Average fill price so far (null before a fill); decimal string."
    )
    reason: str | None = None
