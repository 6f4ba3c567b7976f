"""docs/strategies.md's example strategy is real code that loads and trades."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kwont_quant import load_strategy, run_backtest
from kwont_quant.seam import compute_signals, latest_signal
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit

DOC = Path(__file__).parents[3] / "docs" / "strategies.md"


def test_guide_example_runs_backtest_and_live(tmp_path: Path) -> None:
    example = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[0]
    path = tmp_path / "breakout.py"
    path.write_text(example)
    cls = load_strategy(str(path))
    candles = gbm_ohlcv(5000, seed=3, annual_vol=2.0)
    result = run_backtest(str(path), candles, params={"k": 1.0})
    assert result.metrics.n_trades > 5
    assert set(result.trades.exit_reason) >= {"signal", "stop_loss"}
    # and its live path agrees with the backtest on the last bars
    strategy = cls(k=1.0)
    full = compute_signals(strategy, candles)
    for i in range(len(candles) - 300, len(candles)):
        live = latest_signal(strategy, candles[: i + 1])
        assert (live is not None and live.enter_long) == bool(full.enter_long[i])
