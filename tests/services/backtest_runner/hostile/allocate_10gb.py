"""Touches 10 GB of memory, 100 MiB at a time (so the pages really exist)."""

from kwont_quant import Signals, Strategy


class Hog(Strategy):
    def generate(self, candles) -> Signals:
        hoard = []
        for _ in range(100):
            hoard.append(bytearray(b"\x01") * (100 * 1024 * 1024))
        return Signals(enter_long=candles.close > len(hoard))
