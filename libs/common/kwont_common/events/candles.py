"""Topic ``candles``: closed candles only, keyed ``SYMBOL:interval``."""

from __future__ import annotations

from pydantic import Field, model_validator

from kwont_common.events.envelope import Event
from kwont_common.events.fields import EpochMs, Feed, Interval, Symbol


class Candle(Event):
    """A closed candle with Binance kline semantics. ``event_time`` is the close time. Market
    data: prices and volumes are JSON numbers (float), not decimal strings."""

    symbol: Symbol
    interval: Interval
    open_time: EpochMs
    close_time: EpochMs
    open: float = Field(gt=0, description="Open price, quote per base unit; JSON number (float).")
    high: float = Field(gt=0, description="High price; JSON number (float).")
    low: float = Field(gt=0, description="Low price; JSON number (float).")
    close: float = Field(gt=0, description="Close price; JSON number (float).")
    volume: float = Field(ge=0, description="Traded base-asset volume; JSON number (float).")
    quote_volume: float = Field(
        0.0, ge=0, description="Traded quote-asset volume; JSON number (float)."
    )
    trades: int = Field(0, ge=0)
    feed: Feed = Field("binance", description="Origin; `synthetic` marks generated data.")

    @model_validator(mode="after")
    def _consistent(self) -> Candle:
        if self.close_time <= self.open_time:
            raise ValueError("close_time must be after open_time")
        if self.high < max(self.open, self.close, self.low):
            raise ValueError("high is below open, close or low")
        if self.low > min(self.open, self.close):
            raise ValueError("low is above open or close")
        return self

    def key(self) -> str:
        """ "SYMBOL:interval": one series' candles stay in order."""
        return f"{self.symbol}:{self.interval}"
