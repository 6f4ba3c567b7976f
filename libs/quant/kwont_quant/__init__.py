"""kwont_quant: the pure-compute core of Kwont.

Strategy SDK, indicators, backtest engine, metrics and optimiser, with no I/O beyond
reading a CSV on request. The same strategy class runs in backtests, optimisation
sweeps, the sandbox and live.
"""

from __future__ import annotations

from kwont_quant.backtest import Progress, ProgressCallback, resolve_strategy, run_backtest
from kwont_quant.candles import Candles
from kwont_quant.config import BacktestConfig, Sizing
from kwont_quant.errors import (
    ConfigError,
    DataError,
    ParameterError,
    QuantError,
    StrategyError,
    StrategyLoadError,
)
from kwont_quant.funding import FundingRates, read_funding_csv
from kwont_quant.loader import describe_strategy, load_strategy
from kwont_quant.metrics import Metrics
from kwont_quant.params import BoolParameter, FloatParameter, IntParameter, Parameter
from kwont_quant.results import BacktestResult, PortfolioResult, TradeLog
from kwont_quant.signals import BarSignal, Signals, Stop
from kwont_quant.strategies import BUILTINS
from kwont_quant.strategy import Strategy

__version__ = "0.1.0"
# Part of the backtest cache key: bump when results for the same inputs change.
# "2": results carry Monte Carlo bands and grid rows the moments of the overfitting guards.
# "3": the third and fourth power sums of those moments are products (r2 * r, r2 * r2),
# not numpy pow: the same to ~1e-12 relative, not to the bit (metrics are unchanged).
# "4": perpetual funding (results carry metric funding_paid; jobs may opt in to funding).
ENGINE_VERSION = "4"

__all__ = [
    "BUILTINS",
    "ENGINE_VERSION",
    "BacktestConfig",
    "BacktestResult",
    "BarSignal",
    "BoolParameter",
    "Candles",
    "ConfigError",
    "DataError",
    "FloatParameter",
    "FundingRates",
    "IntParameter",
    "Metrics",
    "Parameter",
    "ParameterError",
    "PortfolioResult",
    "Progress",
    "ProgressCallback",
    "QuantError",
    "Signals",
    "Sizing",
    "Stop",
    "Strategy",
    "StrategyError",
    "StrategyLoadError",
    "TradeLog",
    "__version__",
    "describe_strategy",
    "load_strategy",
    "read_funding_csv",
    "resolve_strategy",
    "run_backtest",
]
