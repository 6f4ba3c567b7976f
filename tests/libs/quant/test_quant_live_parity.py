"""The live path (rolling window, newest candle) reproduces the backtest's signals
candle for candle, for every built-in strategy."""

from __future__ import annotations

import numpy as np
import pytest

from kwont_quant import BUILTINS
from kwont_quant.seam import compute_signals, instantiate, latest_signal
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit

# Small periods where the defaults would need long histories to exercise the
# rolling-window cut-off; every strategy is also checked at its defaults.
SMALL = {
    "sma_cross": {"fast": 3, "slow": 8},
    "ema_cross": {"fast": 3, "slow": 8},
    "rsi_reversion": {"period": 5, "lower": 35.0, "upper": 65.0},
    "bollinger_breakout": {"period": 8, "std": 1.5},
    "macd_cross": {"fast": 3, "slow": 7, "signal": 4},
    "donchian_breakout": {"period": 6},
}
CASES = [(name, {}) for name in BUILTINS] + list(SMALL.items())


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{bool(p)}" for n, p in CASES])
def test_live_signals_equal_backtest_signals(name: str, params: dict) -> None:
    strategy = instantiate(BUILTINS[name], params)
    window = strategy.live_window()
    candles = gbm_ohlcv(window + 700, seed=11, annual_vol=3.0)
    full = compute_signals(strategy, candles)
    fired = 0
    for i in range(len(candles)):
        live = latest_signal(strategy, candles[max(0, i + 1 - 2 * window) : i + 1])
        want = i >= full.warmup and bool(
            full.enter_long[i] or full.exit_long[i] or full.enter_short[i] or full.exit_short[i]
        )
        assert (live is not None) == want, f"bar {i}"
        if live is not None:
            fired += 1
            assert live.open_time_ms == candles.open_time_ms[i]
            assert (live.enter_long, live.exit_long, live.enter_short, live.exit_short) == (
                full.enter_long[i],
                full.exit_long[i],
                full.enter_short[i],
                full.exit_short[i],
            ), f"bar {i}"
    assert fired >= 5, "the test data should make the strategy trade"
    # the live window really was shorter than the history for most of the run
    assert len(candles) > window + 500


def test_live_signal_inside_warmup_is_none() -> None:
    strategy = instantiate(BUILTINS["sma_cross"], {"fast": 3, "slow": 8})
    assert latest_signal(strategy, gbm_ohlcv(8, seed=1)) is None


def test_bar_signal_carries_stops() -> None:
    from kwont_quant import Candles, Signals, Stop, Strategy

    class Always(Strategy):
        stop_loss = Stop.percent(0.02)
        take_profit = Stop.atr(2.0, period=3)

        def generate(self, candles: Candles) -> Signals:
            return Signals(enter_long=np.ones(len(candles), dtype=bool), size=0.5)

    sig = latest_signal(Always(), gbm_ohlcv(20, seed=2))
    assert sig is not None and sig.enter_long and sig.size == 0.5
    assert sig.stop_loss_kind == "pct" and sig.stop_loss_price(100.0, "long") == 98.0
    assert sig.take_profit_kind == "distance" and sig.take_profit_value
    assert sig.take_profit_price(100.0, "short") == pytest.approx(100.0 - sig.take_profit_value)
    assert sig.to_dict()["size"] == 0.5
