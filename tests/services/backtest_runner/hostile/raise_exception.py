"""A plain bug: the traceback must reach the user."""

from kwont_quant import Signals, Strategy


def helper(x: int) -> int:
    raise ValueError(f"boom at {x}")


class Buggy(Strategy):
    def generate(self, candles) -> Signals:
        helper(42)
        return Signals(enter_long=candles.close > 0)
