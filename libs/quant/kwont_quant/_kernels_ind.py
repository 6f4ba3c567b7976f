"""Compiled indicator loops. Private: call them through :mod:`kwont_quant.indicators`.

Inputs are float64 arrays that may start with NaNs (an indicator of an indicator);
each kernel starts at the first non-NaN value and leaves earlier outputs NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kwont_quant._jit import jit
from kwont_quant.candles import F64


@jit
def first_valid(x: F64) -> int:
    for i in range(x.shape[0]):
        if not np.isnan(x[i]):
            return i
    return len(x)


@jit
def rolling_mean(x: F64, n: int) -> F64:
    # Running sum with Kahan compensation, so that millions of add/subtract steps do
    # not drift away from the exact window sum.
    out = np.full(x.shape[0], np.nan)
    f = first_valid(x)
    s = 0.0
    c = 0.0
    for i in range(f, x.shape[0]):
        y = x[i] - c
        t = s + y
        c = (t - s) - y
        s = t
        if i - f >= n:
            y = -x[i - n] - c
            t = s + y
            c = (t - s) - y
            s = t
        if i - f >= n - 1:
            out[i] = s / n
    return out


@jit
def ema(x: F64, n: int, alpha: float, offset: int) -> F64:
    # Seeded with the simple mean of the first n values after `offset` (TA-Lib's rule),
    # then e += alpha * (x - e). Wilder smoothing is alpha = 1/n.
    out = np.full(x.shape[0], np.nan)
    start = first_valid(x) + offset
    seed_end = start + n - 1
    if seed_end >= x.shape[0]:
        return out
    s = 0.0
    for i in range(start, seed_end + 1):
        s += x[i]
    e = s / n
    out[seed_end] = e
    for i in range(seed_end + 1, x.shape[0]):
        e = (x[i] - e) * alpha + e
        out[i] = e
    return out


@jit
def wilder(x: F64, n: int) -> F64:
    # Wilder's smoothing in TA-Lib's arithmetic form: (prev * (n - 1) + x) / n.
    out = np.full(x.shape[0], np.nan)
    start = first_valid(x)
    seed_end = start + n - 1
    if seed_end >= x.shape[0]:
        return out
    s = 0.0
    for i in range(start, seed_end + 1):
        s += x[i]
    e = s / n
    out[seed_end] = e
    for i in range(seed_end + 1, x.shape[0]):
        e = (e * (n - 1) + x[i]) / n
        out[i] = e
    return out


@jit
def rsi(x: F64, n: int) -> F64:
    m = x.shape[0]
    gain = np.full(m, np.nan)
    loss = np.full(m, np.nan)
    f = first_valid(x)
    for i in range(f + 1, m):
        d = x[i] - x[i - 1]
        gain[i] = d if d > 0.0 else 0.0
        loss[i] = -d if d < 0.0 else 0.0
    g = wilder(gain, n)
    lo = wilder(loss, n)
    out = np.full(m, np.nan)
    for i in range(m):
        if not np.isnan(g[i]):
            tot = g[i] + lo[i]
            # A window without any change has no direction: neutral 50 (TA-Lib says 0,
            # which would read as "deeply oversold" on a flat market).
            out[i] = 100.0 * g[i] / tot if tot > 0.0 else 50.0
    return out


@jit
def true_range(high: F64, low: F64, close: F64) -> F64:
    m = close.shape[0]
    out = np.full(m, np.nan)
    for i in range(1, m):
        pc = close[i - 1]
        out[i] = max(high[i] - low[i], abs(high[i] - pc), abs(low[i] - pc))
    return out


@jit
def rolling_std(x: F64, n: int) -> F64:
    # Population standard deviation (ddof=0, as TA-Lib's STDDEV and Bollinger's paper),
    # two passes per window: O(n * period) but free of E[x^2] - E[x]^2 cancellation.
    out = np.full(x.shape[0], np.nan)
    f = first_valid(x)
    for i in range(f + n - 1, x.shape[0]):
        s = 0.0
        for j in range(i - n + 1, i + 1):
            s += x[j]
        mu = s / n
        v = 0.0
        for j in range(i - n + 1, i + 1):
            d = x[j] - mu
            v += d * d
        out[i] = np.sqrt(v / n)
    return out


@jit
def rolling_extreme(x: F64, n: int, want_max: bool) -> F64:
    # Monotonic deque over indices: O(len) whatever the window.
    m = x.shape[0]
    out = np.full(m, np.nan)
    dq = np.empty(m, dtype=np.int64)
    head = 0
    tail = 0
    f = first_valid(x)
    for i in range(f, m):
        v = x[i]
        if want_max:
            while tail > head and x[dq[tail - 1]] <= v:
                tail -= 1
        else:
            while tail > head and x[dq[tail - 1]] >= v:
                tail -= 1
        dq[tail] = i
        tail += 1
        if dq[head] <= i - n:
            head += 1
        if i - f >= n - 1:
            out[i] = x[dq[head]]
    return out


@jit
def cross(x: F64, y: F64, above: bool) -> NDArray[np.bool_]:
    # x crosses y (above or below) at i: strict on both bars, NaN compares false.
    m = x.shape[0]
    out = np.zeros(m, dtype=np.bool_)
    for i in range(1, m):
        if above:
            out[i] = x[i - 1] < y[i - 1] and x[i] > y[i]
        else:
            out[i] = x[i - 1] > y[i - 1] and x[i] < y[i]
    return out
