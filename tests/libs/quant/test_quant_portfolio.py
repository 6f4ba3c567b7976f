"""Multi-symbol runs: per-symbol results and the combined account."""

from __future__ import annotations

import numpy as np
import pytest

from kwont_quant import BacktestConfig, PortfolioResult, run_backtest
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit


def test_cash_is_split_and_equity_combined_over_union_of_times() -> None:
    a = gbm_ohlcv(2000, seed=31)
    b = gbm_ohlcv(1500, seed=32, start_ms=int(a.open_time_ms[500]))  # starts later
    cfg = BacktestConfig(cash=10_000)
    seen = []
    res = run_backtest(
        "ema_cross", {"A": a, "B": b}, cfg, {"fast": 5, "slow": 20}, progress=seen.append
    )
    assert isinstance(res, PortfolioResult) and [p.done for p in seen] == [1, 2]
    alone = run_backtest("ema_cross", a, BacktestConfig(cash=5_000), {"fast": 5, "slow": 20})
    np.testing.assert_array_equal(res.per_symbol["A"].equity, alone.equity)
    assert res.open_time_ms.shape[0] == 2000  # b lies inside a's span on the same grid
    # before B's first candle it still holds its 5,000 share
    np.testing.assert_allclose(res.equity[:500], alone.equity[:500] + 5_000)
    np.testing.assert_allclose(res.equity[500:], alone.equity[500:] + res.per_symbol["B"].equity)
    assert res.final_equity == pytest.approx(
        res.per_symbol["A"].final_equity + res.per_symbol["B"].final_equity
    )
    assert res.metrics.n_trades == sum(r.metrics.n_trades for r in res.per_symbol.values())
    d = res.to_dict(equity_curve=False)
    assert {t["symbol"] for t in d["trades"]} == {"A", "B"}
