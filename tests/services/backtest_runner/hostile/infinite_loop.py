"""Never returns from generate()."""

from kwont_quant import Signals, Strategy


class Spin(Strategy):
    def generate(self, candles) -> Signals:
        while True:
            pass
