"""The library's error taxonomy (Freqtrade-style: few classes, one meaning each).

Every error derives from :class:`QuantError`, so a caller can catch the family. The
services map them onto libs/common's taxonomy: :class:`DataError`,
:class:`ParameterError`, :class:`ConfigError` and :class:`StrategyLoadError` are
"bad input" (refuse the job, do not retry); :class:`StrategyError` is "user code failed".
"""

from __future__ import annotations


class QuantError(Exception):
    """Base class of every error raised by kwont_quant."""


class DataError(QuantError, ValueError):
    """OHLCV input is unusable: gap, duplicate or unsorted time, NaN, non-positive price."""


class ParameterError(QuantError, ValueError):
    """A strategy parameter is unknown, of the wrong type or outside its declared range."""


class ConfigError(QuantError, ValueError):
    """A backtest or optimiser setting is invalid (negative cash, leverage below 1, ...)."""


class StrategyLoadError(QuantError):
    """A strategy name is unknown, or a strategy file cannot be imported or defines no
    (or more than one) strategy class."""


class StrategyError(QuantError):
    """User strategy code raised, or returned something malformed.

    ``traceback_text`` holds the formatted traceback of the original exception (empty
    when the strategy returned bad output rather than raising), so a sandbox can ship
    it back to the user verbatim.
    """

    def __init__(self, message: str, traceback_text: str = "") -> None:
        super().__init__(message)
        self.traceback_text = traceback_text
