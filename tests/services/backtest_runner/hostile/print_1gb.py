"""Writes 1 GB to stdout, with print and with raw writes to file descriptor 1."""

import os
import sys

from kwont_quant import Signals, Strategy


class Flood(Strategy):
    def generate(self, candles) -> Signals:
        chunk = "x" * (1024 * 1024)
        for i in range(1024):
            if i % 2:
                os.write(1, chunk.encode())
            else:
                print(chunk, file=sys.stdout)
        return Signals(enter_long=candles.close > 0)
