"""Breakout built-ins: Bollinger bands and Donchian channels (long and short)."""

from __future__ import annotations

from kwont_quant import indicators as ta
from kwont_quant.candles import Candles
from kwont_quant.params import FloatParameter, IntParameter
from kwont_quant.signals import Signals
from kwont_quant.strategy import Strategy


class BollingerBreakout(Strategy):
    """Long when the close crosses above the upper band, out when it falls back below the
    middle; short mirrored on the lower band."""

    name = "bollinger_breakout"
    description = "Close breaking out of the Bollinger bands"

    period = IntParameter(2, 500, default=20, description="band period (bars)")
    std = FloatParameter(0.5, 5.0, default=2.0, step=0.25, description="band width (std devs)")

    def warmup(self) -> int:
        """The band needs period bars."""
        return self.period

    def generate(self, candles: Candles) -> Signals:
        """Band crossings of the close: enter above upper or below lower, exit at the middle."""
        mid, upper, lower = ta.bollinger(candles.close, self.period, self.std)
        close = candles.close
        return Signals(
            enter_long=ta.crossover(close, upper),
            exit_long=ta.crossunder(close, mid),
            enter_short=ta.crossunder(close, lower),
            exit_short=ta.crossover(close, mid),
        )


class DonchianBreakout(Strategy):
    """Long when the close exceeds the previous ``period`` bars' high, short below their
    low; each side exits on the opposite breakout (turtle style)."""

    name = "donchian_breakout"
    description = "Close breaking the prior Donchian channel"

    period = IntParameter(2, 500, default=20, description="channel period (bars)")

    def warmup(self) -> int:
        """The channel needs period bars."""
        return self.period

    def generate(self, candles: Candles) -> Signals:
        """Closes beyond the prior bars' channel: above it long, below it short."""
        upper, lower, _ = ta.donchian(candles.high, candles.low, self.period)
        # The channel of the bars *before* this one: a close cannot break its own high.
        prior_high, prior_low = ta.shift(upper), ta.shift(lower)
        up = candles.close > prior_high
        down = candles.close < prior_low
        return Signals(enter_long=up, exit_long=down, enter_short=down, exit_short=up)
