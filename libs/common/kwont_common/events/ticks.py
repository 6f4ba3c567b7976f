"""Topic ``ticks``: trades, keyed ``SYMBOL``."""

from __future__ import annotations

from pydantic import Field

from kwont_common.events.envelope import Event
from kwont_common.events.fields import Feed, Symbol


class Tick(Event):
    """One trade (Binance aggregated-trade semantics). ``event_time`` is the trade time."""

    symbol: Symbol
    price: float = Field(gt=0, description="Trade price, quote per base unit; JSON number (float).")
    quantity: float = Field(gt=0, description="Traded base-asset quantity; JSON number (float).")
    trade_id: int = Field(ge=0, description="Venue (aggregate) trade id.")
    buyer_is_maker: bool = False
    feed: Feed = "binance"

    def key(self) -> str:
        """The symbol: its ticks stay in order."""
        return self.symbol
