"""Topic ``funding-payments``: what a position paid (or received) at a funding time, keyed
``account:SYMBOL`` (co-partitioned with the account's fills)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kwont_common.events.envelope import AccountEvent
from kwont_common.events.fields import EpochMs, Money, Venue


class FundingPaid(AccountEvent):
    """One funding payment of one position: ``paid = signed_qty x mark_price x rate``
    (:func:`kwont_common.money.funding_payment`). ``paid > 0``: the account paid (its cash
    falls by ``paid``); ``paid < 0``: it received. ``(venue, position, funding_time)``
    identifies it; a replay must not book it twice. ``event_time`` is the funding time."""

    venue: Venue
    position: str = Field(
        min_length=1, description="The position's id: the client order id that opened it."
    )
    funding_time: EpochMs
    side: Literal["LONG", "SHORT"]
    quantity: Money = Field(gt=0, description="Base-asset quantity held; decimal string.")
    mark_price: Money = Field(gt=0, description="Mark price of the payment; decimal string.")
    rate: Money = Field(description="Funding rate applied; decimal string.")
    paid: Money = Field(description="Paid (> 0) or received (< 0), in `asset`; decimal string.")
    asset: str = "USDT"
    position_funding: Money = Field(
        description="The position's funding total after this payment; decimal string."
    )

    def payment_key(self) -> str:
        """``venue:position:funding_time``: one payment per position and funding time."""
        return f"{self.venue}:{self.position}:{self.funding_time}"
