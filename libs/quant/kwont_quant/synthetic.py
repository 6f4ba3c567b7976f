"""Deterministic synthetic market data: the one home of the test data factories.

Also used outside tests (marketdata seeds demo candles with :func:`gbm_ohlcv`), so
everything here is public, seeded and reproducible: the same arguments give the
same candles on every machine (numpy's PCG64 generator).
"""

from __future__ import annotations

import math

import numpy as np

from kwont_quant.candles import Candles

MINUTE_MS = 60_000
# 2024-01-01T00:00:00Z
DEFAULT_START_MS = 1_704_067_200_000


def gbm_ohlcv(
    n: int,
    seed: int = 0,
    start_ms: int = DEFAULT_START_MS,
    interval_ms: int = MINUTE_MS,
    *,
    price: float = 100.0,
    annual_drift: float = 0.0,
    annual_vol: float = 0.8,
    volume: float = 10.0,
) -> Candles:
    """``n`` candles of a geometric Brownian motion (crypto-like: 80 % annual vol).

    Each bar opens at the previous close, the close follows the GBM step, and the
    high/low extend beyond the body by a random fraction of the bar's volatility.

    Raises:
        ValueError: ``n`` < 1, or non-positive interval, price or volatility.
    """
    if n < 1 or interval_ms <= 0 or price <= 0 or annual_vol < 0:
        raise ValueError("gbm_ohlcv needs n >= 1, interval_ms > 0, price > 0, annual_vol >= 0")
    rng = np.random.default_rng(seed)
    dt = interval_ms / (365.25 * 24 * 3600 * 1000)
    sigma = annual_vol * math.sqrt(dt)
    mu = (annual_drift - 0.5 * annual_vol**2) * dt
    steps = mu + sigma * rng.standard_normal(n)
    log_close = math.log(price) + np.cumsum(steps)
    close = np.exp(log_close)
    open_ = np.empty(n)
    open_[0] = price
    open_[1:] = close[:-1]
    wick_up = np.exp(np.abs(rng.standard_normal(n)) * sigma * 0.5)
    wick_dn = np.exp(-np.abs(rng.standard_normal(n)) * sigma * 0.5)
    high = np.maximum(open_, close) * wick_up
    low = np.minimum(open_, close) * wick_dn
    vol = volume * rng.lognormal(0.0, 0.5, n)
    times = start_ms + interval_ms * np.arange(n, dtype=np.int64)
    return Candles.from_arrays(times, open_, high, low, close, vol)


def candles_from_closes(
    closes: list[float] | np.ndarray,
    start_ms: int = DEFAULT_START_MS,
    interval_ms: int = MINUTE_MS,
    spread: float = 0.0,
) -> Candles:
    """Hand-made candles for exact tests: each bar opens at the previous close (the
    first at its own close) and its high/low are the body widened by ``spread``."""
    c = np.asarray(closes, dtype=np.float64)
    o = np.concatenate([c[:1], c[:-1]])
    times = start_ms + interval_ms * np.arange(c.shape[0], dtype=np.int64)
    return Candles.from_arrays(
        times, o, np.maximum(o, c) + spread, np.minimum(o, c) - spread, c, np.ones(c.shape[0])
    )
