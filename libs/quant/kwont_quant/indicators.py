"""Vectorised technical indicators over whole float64 arrays.

Each returns arrays as long as its input, NaN where the indicator is not yet defined
(its warm-up). Values are causal: the value at bar ``i`` uses bars ``<= i`` only, which
is what lets the live path reproduce the backtest. Conventions follow TA-Lib (the tests
check against it): EMA and Wilder averages are seeded with a simple mean, RSI and ATR
use Wilder smoothing, Bollinger uses the population standard deviation, and MACD
seeds its fast EMA where the slow one starts. One deliberate difference: RSI over a
window without any price change is 50, not 0.

While the optimiser sweeps a grid, these functions share their results across its
parameter sets (:mod:`kwont_quant._memo`): each distinct indicator of the candles is
computed once, and every caller gets its own copy.

Every function raises :class:`~kwont_quant.errors.ParameterError` for a period below 1
(or a fast period not below the slow one for MACD).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kwont_quant import _kernels_ind as k
from kwont_quant._memo import memo
from kwont_quant.candles import F64
from kwont_quant.errors import ParameterError

Bools = NDArray[np.bool_]


def _f64(x: ArrayLike) -> F64:
    return np.ascontiguousarray(x, dtype=np.float64)


def _period(n: int, name: str = "period") -> int:
    if int(n) != n or n < 1:
        raise ParameterError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


@memo
def sma(x: ArrayLike, period: int) -> F64:
    """Simple moving average over ``period`` bars."""
    return k.rolling_mean(_f64(x), _period(period))


@memo
def ema(x: ArrayLike, period: int) -> F64:
    """Exponential moving average, alpha = 2 / (period + 1), seeded with an SMA."""
    n = _period(period)
    return k.ema(_f64(x), n, 2.0 / (n + 1), 0)


@memo
def wilder(x: ArrayLike, period: int) -> F64:
    """Wilder's smoothing (an EMA with alpha = 1 / period), seeded with an SMA."""
    return k.wilder(_f64(x), _period(period))


@memo
def rsi(close: ArrayLike, period: int = 14) -> F64:
    """Relative Strength Index (Wilder), 0..100; defined from bar ``period``."""
    return k.rsi(_f64(close), _period(period))


@memo
def true_range(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> F64:
    """True range; NaN at bar 0, which has no previous close."""
    return k.true_range(_f64(high), _f64(low), _f64(close))


@memo
def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> F64:
    """Average True Range (Wilder); defined from bar ``period``."""
    return k.wilder(true_range(high, low, close), _period(period))


@memo
def rolling_std(x: ArrayLike, period: int) -> F64:
    """Rolling population standard deviation (ddof = 0)."""
    return k.rolling_std(_f64(x), _period(period))


@memo
def rolling_max(x: ArrayLike, period: int) -> F64:
    """Highest value of the last ``period`` bars, current bar included."""
    return k.rolling_extreme(_f64(x), _period(period), True)


@memo
def rolling_min(x: ArrayLike, period: int) -> F64:
    """Lowest value of the last ``period`` bars, current bar included."""
    return k.rolling_extreme(_f64(x), _period(period), False)


@memo
def bollinger(close: ArrayLike, period: int = 20, std: float = 2.0) -> tuple[F64, F64, F64]:
    """Bollinger bands ``(middle, upper, lower)``: SMA plus/minus ``std`` deviations."""
    c = _f64(close)
    mid = sma(c, period)
    dev = rolling_std(c, period) * float(std)
    return mid, mid + dev, mid - dev


@memo
def macd(close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[F64, F64, F64]:
    """MACD ``(line, signal, histogram)``.

    The line is defined from bar ``slow - 1``, the signal and histogram from bar
    ``slow + signal - 2`` (TA-Lib's lookback).
    """
    f, s, g = _period(fast, "fast"), _period(slow, "slow"), _period(signal, "signal")
    if f >= s:
        raise ParameterError(f"MACD fast period ({f}) must be below the slow period ({s})")
    c = _f64(close)
    fast_ema = k.ema(c, f, 2.0 / (f + 1), s - f)
    line = fast_ema - k.ema(c, s, 2.0 / (s + 1), 0)
    sig = k.ema(line, g, 2.0 / (g + 1), 0)
    return line, sig, line - sig


@memo
def donchian(high: ArrayLike, low: ArrayLike, period: int = 20) -> tuple[F64, F64, F64]:
    """Donchian channel ``(upper, lower, middle)`` over the last ``period`` bars."""
    upper = rolling_max(high, period)
    lower = rolling_min(low, period)
    return upper, lower, (upper + lower) / 2.0


def shift(x: ArrayLike, bars: int = 1) -> F64:
    """``x`` delayed by ``bars`` (NaN-filled at the start): yesterday's value today."""
    a = _f64(x)
    out = np.full(a.shape[0], np.nan)
    if bars < a.shape[0]:
        out[bars:] = a[: a.shape[0] - bars]
    return out


def crossover(a: ArrayLike, b: ArrayLike) -> Bools:
    """True where ``a`` crosses above ``b``: ``a[i-1] < b[i-1]`` and ``a[i] > b[i]``.

    ``b`` may be a scalar level. Strict on both sides, like backtesting.py's
    ``crossover``; NaN compares false, so nothing fires during warm-up.
    """
    x = _f64(a)
    return k.cross(x, _f64(np.broadcast_to(_f64(b), x.shape)), True)


def crossunder(a: ArrayLike, b: ArrayLike) -> Bools:
    """True where ``a`` crosses below ``b`` (see :func:`crossover`)."""
    x = _f64(a)
    return k.cross(x, _f64(np.broadcast_to(_f64(b), x.shape)), False)
