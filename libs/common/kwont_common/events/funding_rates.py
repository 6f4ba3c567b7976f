"""Topic ``funding``: a perpetual's funding at one funding time, keyed ``SYMBOL``."""

from __future__ import annotations

from pydantic import Field

from kwont_common.events.envelope import Event
from kwont_common.events.fields import EpochMs, Feed, Symbol


class FundingRate(Event):
    """The funding of ``symbol`` settled at ``funding_time`` (Binance USD-M: every 8 hours).
    ``event_time`` is the funding time. A position held at that time (entry at or before
    it, exit after it) pays ``signed quantity x mark_price x rate``
    (:func:`kwont_common.money.funding_payment`; docs/funding.md)."""

    symbol: Symbol
    funding_time: EpochMs
    rate: float = Field(
        allow_inf_nan=False, description="Funding rate (0.0001 = 0.01 %); JSON number (float)."
    )
    mark_price: float = Field(
        gt=0,
        allow_inf_nan=False,
        description="Mark price at the funding time (the last candle's close when the row "
        "has none); JSON number (float).",
    )
    feed: Feed = "synthetic"

    def key(self) -> str:
        """The symbol: its funding times stay in order."""
        return self.symbol
