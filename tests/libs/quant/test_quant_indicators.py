"""Indicators against TA-Lib (an independent, published implementation)."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from kwont_quant import indicators as ta
from kwont_quant.errors import ParameterError
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit

C = gbm_ohlcv(3000, seed=7)
H, L, X = C.high, C.low, C.close


def same(ours: np.ndarray, ref: np.ndarray, rtol: float = 1e-9) -> None:
    """Identical warm-up (NaN) positions and values within rtol everywhere else."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=rtol, equal_nan=True)


@pytest.mark.parametrize("period", [1, 2, 14, 50, 200])
def test_sma_ema_match_talib(period: int) -> None:
    same(ta.sma(X, period), talib.SMA(X, period))
    same(ta.ema(X, period), talib.EMA(X, period))


@pytest.mark.parametrize("period", [2, 14, 30])
def test_rsi_and_atr_match_talib(period: int) -> None:
    same(ta.rsi(X, period), talib.RSI(X, period))
    same(ta.atr(H, L, X, period), talib.ATR(H, L, X, period))
    same(ta.true_range(H, L, X), talib.TRANGE(H, L, X))


@pytest.mark.parametrize(("period", "k"), [(20, 2.0), (10, 1.5), (50, 3.0)])
def test_bollinger_matches_talib(period: int, k: float) -> None:
    mid, up, lo = ta.bollinger(X, period, k)
    ref_up, ref_mid, ref_lo = talib.BBANDS(X, period, k, k, matype=0)
    same(mid, ref_mid)
    same(up, ref_up)
    same(lo, ref_lo)
    same(ta.rolling_std(X, period), talib.STDDEV(X, period, 1.0))


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 16)])
def test_macd_matches_talib(fast: int, slow: int, signal: int) -> None:
    line, sig, hist = ta.macd(X, fast, slow, signal)
    ref_line, ref_sig, ref_hist = talib.MACD(X, fast, slow, signal)
    valid = ~np.isnan(ref_line)  # TA-Lib blanks the line until the signal is defined
    assert np.isnan(line[: slow - 1]).all() and not np.isnan(line[slow - 1 :]).any()
    np.testing.assert_allclose(line[valid], ref_line[valid], rtol=1e-9)
    same(sig, ref_sig, rtol=1e-8)
    same(hist, ref_hist, rtol=1e-7)


@pytest.mark.parametrize("period", [2, 5, 20, 100])
def test_rolling_extremes_and_donchian_match_talib(period: int) -> None:
    same(ta.rolling_max(H, period), talib.MAX(H, period), rtol=0)
    same(ta.rolling_min(L, period), talib.MIN(L, period), rtol=0)
    up, lo, mid = ta.donchian(H, L, period)
    same(up, talib.MAX(H, period), rtol=0)
    same(lo, talib.MIN(L, period), rtol=0)
    same(mid, (talib.MAX(H, period) + talib.MIN(L, period)) / 2)


def test_indicators_are_causal() -> None:
    """A prefix of the data gives the prefix of the indicator: nothing looks ahead."""
    k = 1234
    for full, part in [
        (ta.sma(X, 20), ta.sma(X[:k], 20)),
        (ta.ema(X, 20), ta.ema(X[:k], 20)),
        (ta.rsi(X, 14), ta.rsi(X[:k], 14)),
        (ta.atr(H, L, X, 14), ta.atr(H[:k], L[:k], X[:k], 14)),
        (ta.macd(X, 12, 26, 9)[1], ta.macd(X[:k], 12, 26, 9)[1]),
        (ta.bollinger(X, 20)[1], ta.bollinger(X[:k], 20)[1]),
        (ta.rolling_max(H, 20), ta.rolling_max(H[:k], 20)),
    ]:
        np.testing.assert_array_equal(full[:k], part)


def test_leading_nans_are_skipped() -> None:
    x = np.r_[np.full(5, np.nan), np.arange(1.0, 11.0)]
    out = ta.sma(x, 3)
    assert np.isnan(out[:7]).all()
    np.testing.assert_allclose(out[7:], [2, 3, 4, 5, 6, 7, 8, 9])


def test_rsi_of_a_flat_market_is_neutral() -> None:
    assert (ta.rsi(np.full(30, 5.0), 14)[14:] == 50.0).all()


def test_crossover_is_strict_like_backtesting_py() -> None:
    a = np.array([1.0, 3.0, 3.0, 2.0, 1.0, 1.5, 4.0])
    # up through 2 at bar 1; touches 2 at bar 3 then goes below: strict on both sides,
    # so that is no cross under (backtesting.py's crossover behaves the same); up at 6
    assert ta.crossover(a, 2.0).tolist() == [False, True, False, False, False, False, True]
    assert not ta.crossunder(a, 2.0).any()
    assert ta.crossunder([3.0, 1.0], [2.0, 2.0]).tolist() == [False, True]
    assert ta.crossover([np.nan, 3.0], 2.0).tolist() == [False, False]
    np.testing.assert_array_equal(ta.shift([1.0, 2.0, 3.0]), [np.nan, 1.0, 2.0])


def test_bad_periods_are_refused() -> None:
    with pytest.raises(ParameterError):
        ta.sma(X, 0)
    with pytest.raises(ParameterError):
        ta.macd(X, 26, 12, 9)
