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
from kwont_quant._jit import jit
from kwont_quant.candles import F64, I64
from kwont_quant.results import BacktestResult, PortfolioResult

PATHS = 1000
SEED = 0
MAX_CELLS = 5_000_000  # paths x trades per run (~0.15 s); long trade lists get fewer paths
MIN_PATHS = 10
CHUNK_CELLS = 1_000_000  # random draws held in memory at once
PERCENTILES = (5, 50, 95)


@dataclass(frozen=True)
class Bands:
    """5th, 50th and 95th percentiles of the paths' final equity and max drawdown."""

    final_equity: tuple[float, float, float]
    max_drawdown: tuple[float, float, float]

    def to_dict(self) -> dict[str, float]:
        """Flat keys such as final_equity_p5 and max_drawdown_p95."""
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
        """JSON-able: paths, seed, trades and both sets of bands."""
        return {
            "paths": self.paths,
            "seed": self.seed,
            "trades": self.trades,
            "permutation": self.permutation.to_dict(),
            "bootstrap": self.bootstrap.to_dict(),
        }


@jit
def _walk(seq: F64, cash: float) -> tuple[float, float]:
    equity, peak, worst = cash, cash, 0.0
    for x in seq:
        equity += x
        if equity > peak:
            peak = equity
        dd = 1.0 - equity / peak
        if dd > worst:
            worst = dd
    return equity, min(worst, 1.0)


@jit
def _shuffled(pnl: F64, cash: float, u: F64) -> tuple[F64, F64]:
    # Fisher-Yates with the draws u[path, j] in [0, 1): one uniform permutation per row.
    k, n = u.shape
    final, dd, buf = np.empty(k), np.empty(k), np.empty(n)
    for p in range(k):
        buf[:] = pnl
        for j in range(n - 1, 0, -1):
            i = min(int(u[p, j] * (j + 1)), j)
            buf[i], buf[j] = buf[j], buf[i]
        final[p], dd[p] = _walk(buf, cash)
    return final, dd


@jit
def _drawn(pnl: F64, cash: float, idx: I64) -> tuple[F64, F64]:
    k, n = idx.shape
    final, dd, buf = np.empty(k), np.empty(k), np.empty(n)
    for p in range(k):
        for j in range(n):
            buf[j] = pnl[idx[p, j]]
        final[p], dd[p] = _walk(buf, cash)
    return final, dd


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
        perm.append(_shuffled(p, cash, rng.random((k, n))))
        boot.append(_drawn(p, cash, rng.integers(0, n, size=(k, n))))
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
