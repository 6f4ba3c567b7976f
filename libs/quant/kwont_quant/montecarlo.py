"""Monte Carlo of one backtest's trade sequence: how much of its final equity and its
drawdown is the luck of the order (and the draw) of its trades.

Each path adds the closed trades' money PnL, in a new order, to the starting cash (no
compounding: a trade keeps the size it had). Two resamplings: ``permutation`` (every
trade once, shuffled: the final equity is the backtest's, the drawdown varies) and
``bootstrap`` (as many trades drawn with replacement: both vary). Drawdowns are fractions
of the running peak, the starting cash included, capped at 1, as in
:mod:`kwont_quant.metrics`. Seeded, so a rerun gives the same bands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from kwont_quant import _kernels_engine as ke
from kwont_quant.candles import F64
from kwont_quant.results import BacktestResult, PortfolioResult

PATHS = 1000
SEED = 0
MAX_CELLS = 20_000_000  # paths x trades per run; long trade lists get fewer paths
MIN_PATHS = 10
CHUNK_CELLS = 1_000_000  # paths x trades held in memory at once
PERCENTILES = (5, 50, 95)


@dataclass(frozen=True)
class Bands:
    """5th, 50th and 95th percentiles of the paths' final equity and max drawdown."""

    final_equity: tuple[float, float, float]
    max_drawdown: tuple[float, float, float]

    def to_dict(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, values in (
            ("final_equity", self.final_equity),
            ("max_drawdown", self.max_drawdown),
        ):
            for p, v in zip(PERCENTILES, values, strict=True):
                out[f"{name}_p{p}"] = v
        return out


@dataclass(frozen=True)
class MonteCarlo:
    """Bands of both resamplings over ``paths`` paths of ``trades`` trades."""

    paths: int
    seed: int
    trades: int
    permutation: Bands
    bootstrap: Bands

    def to_dict(self) -> dict[str, Any]:
        return {
            "paths": self.paths,
            "seed": self.seed,
            "trades": self.trades,
            "permutation": self.permutation.to_dict(),
            "bootstrap": self.bootstrap.to_dict(),
        }


def _paths(cash: float, pnl: F64) -> tuple[F64, F64]:
    """Final equity and max drawdown of each path of ``pnl`` (shape ``(paths, trades)``)."""
    equity = cash + np.cumsum(pnl, axis=1)
    peak = np.maximum(np.maximum.accumulate(equity, axis=1), cash)
    dd = np.clip(1.0 - equity / peak, 0.0, 1.0).max(axis=1)
    return equity[:, -1], dd


def _bands(final: F64, dd: F64) -> Bands:
    fe = np.percentile(final, PERCENTILES)
    mdd = np.percentile(dd, PERCENTILES)
    return Bands(
        (float(fe[0]), float(fe[1]), float(fe[2])), (float(mdd[0]), float(mdd[1]), float(mdd[2]))
    )


def monte_carlo(pnl: F64, cash: float, paths: int = PATHS, seed: int = SEED) -> MonteCarlo | None:
    """Bands of ``paths`` reorderings and bootstrap draws of the trades' ``pnl``, with
    ``numpy.random.default_rng(seed)``; fewer paths (at least :data:`MIN_PATHS`) when
    ``paths x trades`` would pass :data:`MAX_CELLS`. None without trades.

    Raises:
        ValueError: ``cash`` not positive, ``paths`` below 1, or a non-finite PnL.
    """
    p = np.asarray(pnl, dtype=np.float64)
    if not (math.isfinite(cash) and cash > 0.0) or paths < 1:
        raise ValueError("monte_carlo needs cash > 0 and paths >= 1")
    if not np.isfinite(p).all():
        raise ValueError("trade PnL must be finite")
    n = int(p.shape[0])
    if n == 0:
        return None
    paths = min(paths, max(MIN_PATHS, MAX_CELLS // n))
    rng = np.random.default_rng(seed)
    perm: list[tuple[F64, F64]] = []
    boot: list[tuple[F64, F64]] = []
    step = max(1, CHUNK_CELLS // n)
    for lo in range(0, paths, step):
        k = min(step, paths - lo)
        perm.append(_paths(cash, rng.permuted(np.broadcast_to(p, (k, n)), axis=1)))
        boot.append(_paths(cash, p[rng.integers(0, n, size=(k, n))]))
    return MonteCarlo(
        paths,
        seed,
        n,
        _bands(*(np.concatenate(c) for c in zip(*perm, strict=True))),
        _bands(*(np.concatenate(c) for c in zip(*boot, strict=True))),
    )


def monte_carlo_of(
    result: BacktestResult | PortfolioResult, paths: int = PATHS, seed: int = SEED
) -> MonteCarlo | None:
    """:func:`monte_carlo` of a result's closed trades (every symbol's, in exit order),
    from the equity the run started with. None without closed trades.

    Raises:
        ValueError: see :func:`monte_carlo`.
    """
    if isinstance(result, BacktestResult):
        records, cash = result.trades.records, float(result.equity[result.start])
    else:
        records = np.concatenate([r.trades.records for r in result.per_symbol.values()])
        cash = float(result.equity[0])
    closed = records[records[:, ke.T_REASON] != ke.OPEN] if records.size else records
    if not closed.shape[0] or not cash > 0.0:
        return None
    order = np.argsort(closed[:, ke.T_EXIT_I], kind="stable")
    return monte_carlo(closed[order, ke.T_PNL], cash, paths, seed)
