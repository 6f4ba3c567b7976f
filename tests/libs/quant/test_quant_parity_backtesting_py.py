"""Acceptance: the same trades and final equity as backtesting.py (0.6.x).

EURUSD hourly data shipped inside the ``backtesting`` package; sma_cross(10, 30)
long-only, all-in, next-open fills, 0.1 % commission per side, no slippage, an open
position at the end left open and marked to the last close; backtesting.py runs
``FractionalBacktest`` with the same settings and a long-only SMA cross written with
its own ``crossover`` and ``SMA`` helpers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from backtesting import Strategy as BtStrategy
from backtesting.lib import FractionalBacktest, crossover
from backtesting.test import EURUSD, SMA

import kwont_quant as kq

pytestmark = pytest.mark.unit


class LongOnlySmaCross(BtStrategy):
    n1 = 10
    n2 = 30

    def init(self) -> None:
        self.fast = self.I(SMA, self.data.Close, self.n1)
        self.slow = self.I(SMA, self.data.Close, self.n2)

    def next(self) -> None:
        if crossover(self.fast, self.slow):
            if not self.position:
                self.buy()  # default size: all available cash
        elif crossover(self.slow, self.fast):
            self.position.close()


def _run_both(fast: int, slow: int) -> tuple[object, kq.BacktestResult]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(
            EURUSD, LongOnlySmaCross, cash=10_000, commission=0.001, finalize_trades=False
        )
        stats = bt.run(n1=fast, n2=slow)
    times = EURUSD.index.values.astype("datetime64[ms]").astype(np.int64)
    candles = kq.Candles.from_arrays(
        times, EURUSD.Open, EURUSD.High, EURUSD.Low, EURUSD.Close, EURUSD.Volume
    )
    cfg = kq.BacktestConfig(cash=10_000, fee_bps=10, slippage_bps=0, long_only=True)
    ours = kq.run_backtest("sma_cross", candles, cfg, {"fast": fast, "slow": slow})
    return stats, ours


@pytest.mark.parametrize(("fast", "slow"), [(10, 30), (5, 50)])
def test_same_trades_and_final_equity_as_backtesting_py(fast: int, slow: int) -> None:
    stats, ours = _run_both(fast, slow)
    ref = stats["_trades"]  # type: ignore[index]
    closed = np.array([r != "open" for r in ours.trades.exit_reason])
    assert int(closed.sum()) == len(ref) > 20
    np.testing.assert_array_equal(ours.trades.entry_bar[closed], ref["EntryBar"].to_numpy())
    np.testing.assert_array_equal(ours.trades.exit_bar[closed], ref["ExitBar"].to_numpy())
    np.testing.assert_allclose(ours.trades.entry_price[closed], ref["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose(ours.trades.exit_price[closed], ref["ExitPrice"], rtol=1e-12)
    # backtesting.py trades whole satoshis (1e-8 units): quantities agree to that grain
    np.testing.assert_allclose(ours.trades.qty[closed], ref["Size"], atol=2e-8)
    final = stats["Equity Final [$]"]  # type: ignore[index]
    assert abs(ours.final_equity / final - 1.0) < 1e-4  # acceptance: within 0.01 %
    assert abs(ours.final_equity / final - 1.0) < 1e-9  # what we actually achieve
    # an open position at the end is reported, marked to the last close
    if not closed.all():
        assert ours.trades.exit_price[-1] == EURUSD.Close.iloc[-1]
