"""Golden backtest (NautilusTrader style): a ten-bar market worked out by hand.

Every expected number below is derived in this file from the documented rules
(next-open fills, 10 bps fee per side, all-in sizing qty = cash / (price x 1.001),
stop-loss assumed first when a bar touches both levels), not copied from the engine.
"""

from __future__ import annotations

import numpy as np
import pytest

from kwont_quant import BacktestConfig, Candles, Signals, Stop, Strategy, run_backtest

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000
HOUR = 3_600_000
#        open   high   low    close   (bar)
BARS = [
    (100.0, 101.0, 99.0, 100.0),  # 0
    (100.0, 102.0, 99.0, 101.0),  # 1  enter long (signal at close)
    (102.0, 104.0, 101.0, 103.0),  # 2  long filled at 102
    (103.0, 106.0, 102.0, 105.0),  # 3  enter short = reversal signal
    (104.0, 105.0, 100.0, 101.0),  # 4  long closed at 104, short opened at 104
    (101.0, 107.0, 98.0, 99.0),  # 5  short: touches stop 106.08 AND target 98.8
    (99.0, 100.0, 95.0, 96.0),  # 6
    (96.0, 97.0, 93.0, 94.0),  # 7  enter long
    (94.0, 95.0, 90.0, 91.0),  # 8  long filled at 94, stop 92.12 hit in the same bar
    (91.0, 92.0, 90.0, 92.0),  # 9
]
FEE = 0.001


def candles() -> Candles:
    o, h, lo, c = (np.array(col) for col in zip(*BARS, strict=True))
    return Candles.from_arrays(T0 + HOUR * np.arange(len(BARS)), o, h, lo, c, np.ones(len(BARS)))


class Scripted(Strategy):
    """Signals on fixed bars; 2 % stop-loss, 5 % take-profit."""

    stop_loss = Stop.percent(0.02)
    take_profit = Stop.percent(0.05)

    def generate(self, candles: Candles) -> Signals:
        n = len(candles)
        enter_long = np.zeros(n, dtype=bool)
        enter_short = np.zeros(n, dtype=bool)
        enter_long[[1, 7]] = True
        enter_short[3] = True
        return Signals(enter_long=enter_long, enter_short=enter_short)


def expected() -> tuple[list[tuple], float]:
    cash = 1000.0
    trades = []
    # 1: long 102 -> 104 (reversal at bar 4's open)
    q1 = cash / (102 * (1 + FEE))
    f1 = q1 * 102 * FEE + q1 * 104 * FEE
    p1 = q1 * (104 - 102) - f1
    cash += p1
    trades.append(("long", 2, 102.0, 4, 104.0, q1, f1, p1, "signal"))
    # 2: short 104, stop 104 * 1.02 = 106.08, target 104 * 0.95 = 98.8; bar 5 touches
    # both -> the stop (worse) is assumed
    q2 = cash / (104 * (1 + FEE))
    stop2 = 104 * 1.02
    f2 = q2 * 104 * FEE + q2 * stop2 * FEE
    p2 = -q2 * (stop2 - 104) - f2
    cash += p2
    trades.append(("short", 4, 104.0, 5, stop2, q2, f2, p2, "stop_loss"))
    # 3: long 94, stop 94 * 0.98 = 92.12, bar 8's low 90 hits it the same bar
    q3 = cash / (94 * (1 + FEE))
    stop3 = 94 * 0.98
    f3 = q3 * 94 * FEE + q3 * stop3 * FEE
    p3 = q3 * (stop3 - 94) - f3
    cash += p3
    trades.append(("long", 8, 94.0, 8, stop3, q3, f3, p3, "stop_loss"))
    return trades, cash


def test_golden_trade_list_and_final_balance() -> None:
    result = run_backtest(Scripted, candles(), BacktestConfig(cash=1000.0, fee_bps=10))
    want, final = expected()
    got = result.trades.to_list()
    assert len(got) == len(want)
    for g, (side, ei, epx, xi, xpx, qty, fees, pnl, why) in zip(got, want, strict=True):
        assert g["side"] == side and g["exit_reason"] == why
        assert g["entry_time_ms"] == T0 + ei * HOUR and g["exit_time_ms"] == T0 + xi * HOUR
        assert g["entry_price"] == pytest.approx(epx, rel=1e-15)
        assert g["exit_price"] == pytest.approx(xpx, rel=1e-15)
        assert g["qty"] == pytest.approx(qty, rel=1e-13)
        assert g["fees"] == pytest.approx(fees, rel=1e-13)
        assert g["pnl"] == pytest.approx(pnl, rel=1e-12)
    assert result.final_equity == pytest.approx(final, rel=1e-13)
    assert got[0]["entry_time"] == "2023-11-15T00:13:20Z"  # T0 is 2023-11-14T22:13:20Z; + 2 h
    m = result.metrics
    assert m.n_trades == 3 and m.win_rate == pytest.approx(1 / 3)
    assert m.total_return == pytest.approx(final / 1000.0 - 1.0, rel=1e-12)
    assert m.total_fees == pytest.approx(sum(t[6] for t in want), rel=1e-12)
    # mark-to-market: bar 2 closes at 103 with the first long open
    q1 = 1000.0 / (102 * (1 + FEE))
    assert result.equity[2] == pytest.approx(1000.0 - q1 * 102 * FEE + q1 * 1.0, rel=1e-13)
    assert (result.equity[:2] == 1000.0).all()
    # exposure: a position is held at the close of bars 2, 3, 4
    assert m.exposure == pytest.approx(3 / 10)


def test_golden_rerun_is_identical() -> None:
    a = run_backtest(Scripted, candles(), BacktestConfig(cash=1000.0, fee_bps=10)).to_dict()
    b = run_backtest(Scripted, candles(), BacktestConfig(cash=1000.0, fee_bps=10)).to_dict()
    assert a == b
    assert a["final_equity"] == b["final_equity"]
