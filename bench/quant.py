"""Kwont's backtest engine against backtesting.py and vectorbt on the same data.

One SMA cross (fast 10, slow 30), long only, all-in, 10 bps fee per side, no slippage,
fills at the next bar's open, on seeded geometric-Brownian-motion 1-minute bars
(``kwont_quant.synthetic.gbm_ohlcv``). Rows: one backtest on 525,600 and 5,256,000
bars, and the 90-combination grid (fast 5..50 step 5 x slow 20..200 step 20, fast <
slow) on 525,600 bars.

What each timing covers: indicators, signals, the simulation and the headline
metrics (Kwont: its full result with all metrics; vectorbt: ``from_signals`` plus
total return, Sharpe, max drawdown and trade count; backtesting.py: ``run()``, which
computes its stats). Data generation and DataFrame construction are not timed. Fast
rows are the best of a few repeats (the machine is shared); compilation is warmed up
first and the first-call time is printed separately. backtesting.py takes seconds per
run, so only its 525,600-bar run is measured; its other rows are extrapolated from it
and marked with ``*``.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from kwont_quant import BacktestConfig, Candles, FundingRates, run_backtest
from kwont_quant.funding import synthetic_funding
from kwont_quant.optimize import expand_grid, grid_search, parse_range
from kwont_quant.synthetic import gbm_ohlcv

N_SMALL, N_LARGE = 525_600, 5_256_000
FAST, SLOW, FEE = 10, 30, 0.001
GRID = {"fast": parse_range("5:50:5"), "slow": parse_range("20:200:20")}
CONFIG = BacktestConfig(cash=10_000, fee_bps=FEE * 1e4, long_only=True)
# Targets from the issue, seconds (None: no absolute target for that row).
TARGETS = {"single": 0.03, "large": 0.3, "grid": 1.5}


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Fastest wall time of ``repeats`` calls, and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


# --- Kwont -------------------------------------------------------------------------


def kwont_single(c: Candles, funding: FundingRates | None = None) -> int:
    """One sma_cross backtest with kwont_quant (paying ``funding`` when given); its trade
    count."""
    params = {"fast": FAST, "slow": SLOW}
    return run_backtest("sma_cross", c, CONFIG, params, funding=funding).metrics.n_trades


def kwont_grid(c: Candles) -> int:
    """The GRID of sma_cross with kwont_quant; how many combinations it evaluated."""
    return len(grid_search("sma_cross", GRID, c, CONFIG).evaluations)


# --- vectorbt ------------------------------------------------------------------------


def _crosses(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross above/below at bar i, delayed one bar so the order fills at the next open."""
    up = np.zeros(fast.shape, dtype=bool)
    down = np.zeros(fast.shape, dtype=bool)
    up[2:] = (fast[:-2] < slow[:-2]) & (fast[1:-1] > slow[1:-1])
    down[2:] = (fast[:-2] > slow[:-2]) & (fast[1:-1] < slow[1:-1])
    return up, down


def vbt_run(vbt: Any, close: Any, open_: Any, fast: list[int], slow: list[int]) -> int:
    """The same crossovers with vectorbt (fills at the next open); its trade count."""
    fast_ma = vbt.MA.run(close, window=fast).ma.to_numpy()
    slow_ma = vbt.MA.run(close, window=slow).ma.to_numpy()
    entries, exits = _crosses(fast_ma, slow_ma)
    if entries.ndim == 1:
        entries, exits = entries[:, None], exits[:, None]
    pf = vbt.Portfolio.from_signals(
        close, entries, exits, price=open_, fees=FEE, init_cash=10_000.0, freq="1min"
    )
    pf.total_return()
    pf.sharpe_ratio()
    pf.max_drawdown()
    return int(np.asarray(pf.trades.count()).sum())


def vbt_frames(c: Candles) -> tuple[Any, Any]:
    """The close and open as pandas Series for vectorbt."""
    import pandas as pd  # type: ignore[import-untyped]

    index = pd.to_datetime(c.open_time_ms, unit="ms")
    return pd.Series(c.close, index=index), pd.Series(c.open, index=index)


# --- backtesting.py --------------------------------------------------------------------


def bt_single(c: Candles) -> int:
    """The same crossover, long only, with backtesting.py; its trade count."""
    import pandas as pd
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest, crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(SMA, self.data.Close, FAST)
            self.slow = self.I(SMA, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                if not self.position:
                    self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    df = pd.DataFrame(
        {"Open": c.open, "High": c.high, "Low": c.low, "Close": c.close, "Volume": c.volume},
        index=pd.to_datetime(c.open_time_ms, unit="ms"),
    )
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        stats = FractionalBacktest(df, SmaCross, cash=10_000, commission=FEE).run()
    return len(stats["_trades"])


# --- the table -------------------------------------------------------------------------


def _cell(seconds: float | None, bars: int, star: bool = False) -> str:
    if seconds is None:
        return f"{'n/a':>9} {'':>9}"
    mark = "*" if star else " "
    return f"{seconds:>8.3f}{mark} {bars / seconds / 1e6:>8.2f}M"


def _ratio(other: float | None, ours: float) -> str:
    return f"{other / ours:>8.1f}x" if other else f"{'n/a':>9}"


def main() -> None:
    """Measure and print the comparison table."""
    print(
        f"cores: {os.cpu_count()}; data: seeded GBM 1-minute bars; sma_cross({FAST}, {SLOW}) "
        f"long only, all-in, {FEE * 1e4:.0f} bps/side, next-open fills"
    )
    small, large = gbm_ohlcv(N_SMALL, seed=42), gbm_ohlcv(N_LARGE, seed=42)
    grid_runs = len(expand_grid("sma_cross", GRID))

    first, _ = best_of(lambda: kwont_single(gbm_ohlcv(2_000, seed=1)), 1)
    k_single, k_trades = best_of(lambda: kwont_single(small), 5)
    rows_8h = synthetic_funding(small, "BTCUSDT")  # 8-hourly: 1,095 rows a year
    k_funding, _ = best_of(lambda: kwont_single(small, rows_8h), 5)
    k_large, _ = best_of(lambda: kwont_single(large), 3)
    k_grid, _ = best_of(lambda: kwont_grid(small), 2)

    v_single = v_large = v_grid = None
    v_trades = None
    try:
        import vectorbt as vbt

        close, open_ = vbt_frames(small)
        vbt_run(vbt, close.iloc[:2_000], open_.iloc[:2_000], [FAST], [SLOW])  # compile
        v_single, v_trades = best_of(lambda: vbt_run(vbt, close, open_, [FAST], [SLOW]), 5)
        close_l, open_l = vbt_frames(large)
        v_large, _ = best_of(lambda: vbt_run(vbt, close_l, open_l, [FAST], [SLOW]), 2)
        combos = expand_grid("sma_cross", GRID)
        fasts, slows = [p["fast"] for p in combos], [p["slow"] for p in combos]
        v_grid, _ = best_of(lambda: vbt_run(vbt, close, open_, fasts, slows), 1)
    except ImportError:
        print("vectorbt is not installed: its column is empty")

    b_single = b_trades = None
    try:
        b_single, b_trades = best_of(lambda: bt_single(small), 1)
    except ImportError:
        print("backtesting.py is not installed: its column is empty")
    b_large = b_single * N_LARGE / N_SMALL if b_single else None
    b_grid = b_single * grid_runs if b_single else None

    head = (
        f"{'':<28}{'Kwont':^19}  {'backtesting.py':^19}  {'vectorbt':^19}  {'Kwont speed-up':^19}"
    )
    sub = f"{'row':<28}" + f"{'seconds':>9} {'bars/s':>9}  " * 3 + f"{'vs bt.py':>9} {'vs vbt':>9}"
    print()
    print(head)
    print(sub)
    rows = [
        ("sma_cross, 525,600 bars", k_single, b_single, v_single, N_SMALL, False, "single"),
        ("sma_cross, 5,256,000 bars", k_large, b_large, v_large, N_LARGE, True, "large"),
        (
            f"grid {grid_runs} x 525,600 bars",
            k_grid,
            b_grid,
            v_grid,
            N_SMALL * grid_runs,
            True,
            "grid",
        ),
    ]
    verdicts = []
    for label, k, b, v, bars, b_star, key in rows:
        print(
            f"{label:<28}{_cell(k, bars)}  {_cell(b, bars, b_star)}  {_cell(v, bars)}  "
            f"{_ratio(b, k)} {_ratio(v, k)}"
        )
        ok = k <= TARGETS[key] and (v is None or k < v) and (b is None or b / k >= 100)
        verdicts.append(
            f"{label}: {'met' if ok else 'MISSED'} (<= {TARGETS[key]} s, faster "
            f"than vectorbt, >= 100x backtesting.py)"
        )
    print(
        "* extrapolated from backtesting.py's measured 525,600-bar run "
        f"(x{N_LARGE // N_SMALL} bars; x{grid_runs} runs), not measured"
    )
    print(
        f"trades on 525,600 bars: Kwont {k_trades}, backtesting.py {b_trades}, vectorbt {v_trades}"
    )
    print(
        f"Kwont sma_cross, 525,600 bars, funding on ({len(rows_8h):,} rows): {k_funding:.4f} s "
        f"vs {k_single:.4f} s off ({k_funding / k_single:.2f}x)"
    )
    print(f"Kwont first call (numba compile or cache load): {first:.2f} s")
    for line in verdicts:
        print("target " + line)


if __name__ == "__main__":
    main()
