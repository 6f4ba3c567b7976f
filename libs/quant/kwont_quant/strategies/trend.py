"""Trend-following built-ins: moving-average and MACD crossovers (long and short)."""

from __future__ import annotations

from kwont_quant import indicators as ta
from kwont_quant.candles import F64, Candles
from kwont_quant.errors import ParameterError
from kwont_quant.params import IntParameter
from kwont_quant.signals import Signals
from kwont_quant.strategy import Strategy

# Recursive averages keep a trace of their seed; after this many periods the trace is
# below 1e-17 of the value, so the live window reproduces the full-history signal.
DECAY_PERIODS = 20


class _Cross(Strategy):
    """Go long when the fast line crosses above the slow one, short when it crosses below."""

    fast = IntParameter(2, 500, default=10, description="fast period (bars)")
    slow = IntParameter(3, 1000, default=30, description="slow period (bars)")

    def check(self) -> None:
        """Refuses fast >= slow."""
        if self.fast >= self.slow:
            raise ParameterError(f"fast ({self.fast}) must be below slow ({self.slow})")

    def warmup(self) -> int:
        """The slow average needs slow bars."""
        return self.slow

    def _signals(self, fast_line: F64, slow_line: F64) -> Signals:
        up = ta.crossover(fast_line, slow_line)
        down = ta.crossunder(fast_line, slow_line)
        return Signals(enter_long=up, exit_long=down, enter_short=down, exit_short=up)


class SmaCross(_Cross):
    """Crossovers of two simple moving averages of the close."""

    name = "sma_cross"
    description = "Simple moving average crossover"

    def generate(self, candles: Candles) -> Signals:
        """Crossings of the fast and slow SMA of the close."""
        return self._signals(ta.sma(candles.close, self.fast), ta.sma(candles.close, self.slow))


class EmaCross(_Cross):
    """Crossovers of two exponential moving averages of the close."""

    name = "ema_cross"
    description = "Exponential moving average crossover"

    def live_window(self) -> int:
        """The EMAs are recursive: enough bars for their seeds to decay below 1e-17."""
        return self.slow + DECAY_PERIODS * (self.slow + 1)

    def generate(self, candles: Candles) -> Signals:
        """Crossings of the fast and slow EMA of the close."""
        return self._signals(ta.ema(candles.close, self.fast), ta.ema(candles.close, self.slow))


class MacdCross(Strategy):
    """Long when the MACD line crosses above its signal line, short when it crosses below."""

    name = "macd_cross"
    description = "MACD line crossing its signal line"

    fast = IntParameter(2, 200, default=12, description="fast EMA period")
    slow = IntParameter(3, 500, default=26, description="slow EMA period")
    signal = IntParameter(2, 200, default=9, description="signal EMA period")

    def check(self) -> None:
        """Refuses fast >= slow."""
        if self.fast >= self.slow:
            raise ParameterError(f"fast ({self.fast}) must be below slow ({self.slow})")

    def warmup(self) -> int:
        """The slow EMA, then the signal EMA over the MACD line."""
        return self.slow + self.signal - 1

    def live_window(self) -> int:
        """The EMAs are recursive: enough bars for their seeds to decay below 1e-17."""
        return self.warmup() + DECAY_PERIODS * (self.slow + self.signal + 2)

    def generate(self, candles: Candles) -> Signals:
        """Crossings of the MACD line and its signal line."""
        line, sig, _ = ta.macd(candles.close, self.fast, self.slow, self.signal)
        up = ta.crossover(line, sig)
        down = ta.crossunder(line, sig)
        return Signals(enter_long=up, exit_long=down, enter_short=down, exit_short=up)
