"""Mean-reversion built-in: RSI oversold / overbought."""

from __future__ import annotations

from kwont_quant import indicators as ta
from kwont_quant.candles import Candles
from kwont_quant.params import FloatParameter, IntParameter
from kwont_quant.signals import Signals
from kwont_quant.strategy import Strategy


class RsiReversion(Strategy):
    """Long while RSI is below ``lower`` (oversold), closed above ``upper``; short
    mirrored."""

    name = "rsi_reversion"
    description = "RSI mean reversion between two thresholds"

    period = IntParameter(2, 200, default=14, description="RSI period (bars)")
    lower = FloatParameter(1.0, 49.0, default=30.0, step=1.0, description="oversold level")
    upper = FloatParameter(51.0, 99.0, default=70.0, step=1.0, description="overbought level")

    def warmup(self) -> int:
        """The RSI needs period bars."""
        return self.period

    def live_window(self) -> int:
        # Wilder smoothing decays as (1 - 1/period)^k: 40 periods leave < 1e-17.
        """Wilder's smoothing is recursive: enough bars for its seed to decay away."""
        return self.period + 40 * self.period

    def generate(self, candles: Candles) -> Signals:
        """RSI below lower enters long and exits short; above upper the reverse."""
        r = ta.rsi(candles.close, self.period)
        low = r < self.lower
        high = r > self.upper
        return Signals(enter_long=low, exit_long=high, enter_short=high, exit_short=low)
