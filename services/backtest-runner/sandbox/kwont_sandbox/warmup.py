"""Compile the engine once at image build time (``python -m kwont_sandbox.warmup``).

Runs every built-in strategy (and the Monte Carlo of its trades) and a small grid on
synthetic candles so numba writes its cache to ``NUMBA_CACHE_DIR``; the image ships that
cache and each container copies it to its tmpfs, saving the compile time on every job.
"""

from __future__ import annotations

import numpy as np

from kwont_quant import BUILTINS, BacktestConfig, Candles, run_backtest
from kwont_quant.montecarlo import monte_carlo_of
from kwont_quant.optimize import evaluate


def main() -> None:
    """Run the built-ins, their Monte Carlo and a small grid on synthetic candles, filling
    numba's cache."""
    n = 3000
    rng = np.random.default_rng(7)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    opens = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(opens, close) * 1.001
    low = np.minimum(opens, close) * 0.999
    times = 1_704_067_200_000 + 60_000 * np.arange(n, dtype=np.int64)
    candles = Candles.from_arrays(times, opens, high, low, close, np.ones(n))
    cfg = BacktestConfig(interval_ms=60_000)
    for name in BUILTINS:
        monte_carlo_of(run_backtest(name, candles, cfg, symbol="WARM"))
        monte_carlo_of(run_backtest(name, {"A": candles, "B": candles}, cfg))
    evaluate(
        "sma_cross", [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 40}], candles, cfg, workers=2
    )


if __name__ == "__main__":
    main()
