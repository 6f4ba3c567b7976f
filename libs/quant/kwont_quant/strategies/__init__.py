"""The built-in strategies, by the names scripts and the API rely on."""

from __future__ import annotations

from kwont_quant.strategies.breakout import BollingerBreakout, DonchianBreakout
from kwont_quant.strategies.reversion import RsiReversion
from kwont_quant.strategies.trend import EmaCross, MacdCross, SmaCross
from kwont_quant.strategy import Strategy

BUILTINS: dict[str, type[Strategy]] = {
    cls.strategy_name(): cls
    for cls in (SmaCross, EmaCross, RsiReversion, BollingerBreakout, MacdCross, DonchianBreakout)
}

__all__ = [
    "BUILTINS",
    "BollingerBreakout",
    "DonchianBreakout",
    "EmaCross",
    "MacdCross",
    "RsiReversion",
    "SmaCross",
]
