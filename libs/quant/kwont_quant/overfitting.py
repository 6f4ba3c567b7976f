"""Overfitting guards of a parameter search: probabilistic and deflated Sharpe ratio, and the
probability of backtest overfitting by combinatorially symmetric cross-validation.

Every figure works on per-period (per-bar, not annualised) simple returns. Returns are
summarised as power sums ``[n, sum r, sum r^2, sum r^3, sum r^4]`` ("moments"), per block
of consecutive bars: sums add up, so the Sharpe ratio of any union of blocks, and the skew
and kurtosis of the whole run, come out exactly from a few numbers per trial. That is what
lets a grid sharded over runner replicas be judged as one search.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from kwont_quant._jit import jit
from kwont_quant.candles import F64

EULER_GAMMA = 0.5772156649015329
BLOCKS = 16  # the paper's S; Bailey et al. 2017 use 16 in their examples
_NORMAL = NormalDist()
_CHUNK = 256  # splits per matrix product in :func:`pbo_of_blocks`


@jit
def _returns(eq: F64) -> F64:
    out = np.empty(max(eq.shape[0] - 1, 0))
    for i in range(out.shape[0]):
        prev = eq[i]
        out[i] = eq[i + 1] / prev - 1.0 if prev > 0.0 else 0.0
    return out


def returns_of(equity: F64, start: int = 0) -> F64:
    """Simple per-bar returns of ``equity[start:]`` (0 where the previous equity is not
    positive), as :mod:`kwont_quant.metrics` computes them."""
    return _returns(np.ascontiguousarray(equity[start:], dtype=np.float64))


def block_moments(returns: F64, n_blocks: int = BLOCKS) -> F64:
    """Power sums of ``returns`` (shape ``(T,)`` or ``(T, N)``) in ``n_blocks`` consecutive
    blocks of near-equal length: shape ``(n_blocks, 5)`` or ``(n_blocks, N, 5)``.

    The third and fourth powers are products (``r2 * r``, ``r2 * r2``), not ``r**3``:
    numpy's ``pow`` costs some 20 ns a return, which made these sums most of a grid's
    time (ENGINE_VERSION 3). One series is summed column by column (numpy's pairwise sum,
    as the stacked form sums it: the same bits).

    Raises:
        ValueError: fewer returns than blocks.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.shape[0] < n_blocks or n_blocks < 1:
        raise ValueError(f"{r.shape[0]} returns cannot fill {n_blocks} blocks")
    cuts = np.linspace(0, r.shape[0], n_blocks + 1).round().astype(np.int64)
    r2 = r * r
    if r.ndim == 1:
        out = np.empty((n_blocks, 5))
        out[:, 0] = np.diff(cuts)
        for col, x in enumerate((r, r2, r2 * r, r2 * r2), start=1):
            out[:, col] = np.add.reduceat(x, cuts[:-1])
        return out
    powers = np.stack([np.ones_like(r), r, r2, r2 * r, r2 * r2], axis=-1)
    return np.add.reduceat(powers, cuts[:-1], axis=0)


def blocks_for(n_returns: int) -> int:
    """:data:`BLOCKS`, or the largest even count that leaves two returns a block."""
    return max(2, min(BLOCKS, (n_returns // 2) // 2 * 2))


def _sharpe(s: F64) -> F64:
    """Per-period Sharpe ratios (ddof = 1) of power sums ``s[..., 0:3]``; NaN when
    undefined (fewer than two returns or no variance)."""
    n, s1, s2 = s[..., 0], s[..., 1], s[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / n
        var = (s2 - s1 * mean) / (n - 1)
        out = np.where((n > 1) & (var > 0.0), mean / np.sqrt(np.maximum(var, 0.0)), np.nan)
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class SharpeStats:
    """Per-period Sharpe ratio of a return series with what PSR needs of its shape.
    ``kurtosis`` is the plain fourth standardised moment (3 for a normal law)."""

    sharpe: float
    skew: float
    kurtosis: float
    n: int


def sharpe_stats(moments: F64) -> SharpeStats:
    """From power sums (shape ``(5,)`` or ``(blocks, 5)``); skew and kurtosis use the
    population moments, as Bailey and López de Prado (2012) do."""
    s = np.asarray(moments, dtype=np.float64).reshape(-1, 5).sum(axis=0)
    n = int(s[0])
    if n < 2:
        return SharpeStats(math.nan, math.nan, math.nan, n)
    mean = s[1] / n
    m2 = s[2] / n - mean**2
    if m2 <= 0.0:
        return SharpeStats(math.nan, math.nan, math.nan, n)
    m3 = s[3] / n - 3 * mean * s[2] / n + 2 * mean**3
    m4 = s[4] / n - 4 * mean * s[3] / n + 6 * mean**2 * s[2] / n - 3 * mean**4
    return SharpeStats(float(_sharpe(s)), float(m3 / m2**1.5), float(m4 / m2**2), n)


def probabilistic_sharpe_ratio(
    sharpe: float, n: int, skew: float = 0.0, kurtosis: float = 3.0, benchmark: float = 0.0
) -> float:
    """PSR: the probability that the true Sharpe ratio exceeds ``benchmark``, given an
    observed per-period ``sharpe`` over ``n`` returns of that ``skew`` and ``kurtosis``.

    Bailey, D. H. and López de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier",
    Journal of Risk 15(2), eq. for PSR:
    ``Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))``.
    NaN when the inputs are (a series with no variance, fewer than two returns).

    Raises:
        Nothing.
    """
    if not all(map(math.isfinite, (sharpe, skew, kurtosis, benchmark))) or n < 2:
        return math.nan
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if spread <= 0.0:  # a sample's moments keep this positive; guard against rounding
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(n - 1) / math.sqrt(spread))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The Sharpe ratio the best of ``n_trials`` skill-less trials is expected to show,
    given the variance of the trials' Sharpe ratios.

    Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting
    for Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio
    Management 40(5): ``sqrt(V) ((1 - g) Z(1 - 1/N) + g Z(1 - 1/(N e)))`` with ``g`` the
    Euler-Mascheroni constant and ``Z`` the standard normal quantile. One trial: 0.

    Raises:
        ValueError: ``n_trials`` below 1 or a negative variance.
    """
    if n_trials < 1 or not sharpe_variance >= 0.0:
        raise ValueError("need n_trials >= 1 and a variance >= 0")
    if n_trials == 1:
        return 0.0
    z = _NORMAL.inv_cdf
    n = float(n_trials)
    return math.sqrt(sharpe_variance) * (
        (1.0 - EULER_GAMMA) * z(1.0 - 1.0 / n) + EULER_GAMMA * z(1.0 - 1.0 / (n * math.e))
    )


def deflated_sharpe_ratio(
    sharpe: float, n: int, skew: float, kurtosis: float, n_trials: int, sharpe_variance: float
) -> float:
    """DSR: PSR of the selected trial against :func:`expected_max_sharpe` of the search
    (Bailey and López de Prado 2014, see there). All Sharpe ratios per period.

    Raises:
        ValueError: see :func:`expected_max_sharpe`.
    """
    benchmark = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n, skew, kurtosis, benchmark)


@dataclass(frozen=True)
class Pbo:
    """Result of CSCV: the probability and the logit of every split."""

    pbo: float
    logits: F64
    n_blocks: int

    @property
    def n_splits(self) -> int:
        """How many in-sample/out-of-sample splits were evaluated."""
        return int(self.logits.shape[0])


def pbo_of_blocks(blocks: F64) -> Pbo:
    """Probability of backtest overfitting from per-block power sums of ``N`` trials
    (shape ``(S, N, 5)``, ``S`` even), performance measured by the Sharpe ratio.

    Bailey, D. H., Borwein, J., López de Prado, M. and Zhu, Q. J. (2017), "The Probability
    of Backtest Overfitting", Journal of Computational Finance 20(4): for each of the
    ``C(S, S/2)`` ways to pick half the blocks as in-sample (the rest out-of-sample), take
    the in-sample best trial, its relative rank ``w`` among the out-of-sample results
    (rank / (N + 1); ties share the mean rank), and the logit ``ln(w / (1 - w))``.
    PBO is the share of logits <= 0: how often the in-sample winner is at or below the
    out-of-sample median. A trial without a defined Sharpe ratio ranks last.

    Raises:
        ValueError: an odd or too small block count, or fewer than two trials.
    """
    b = np.asarray(blocks, dtype=np.float64)[..., :3]
    s, n_trials = b.shape[0], b.shape[1]
    if s < 2 or s % 2 or n_trials < 2:
        raise ValueError("CSCV needs an even number (>= 2) of blocks and >= 2 trials")
    splits = np.array(
        [[k in c for k in range(s)] for c in itertools.combinations(range(s), s // 2)],
        dtype=np.float64,
    )
    flat = b.reshape(s, -1)
    total = flat.sum(axis=0)
    logits = []
    for lo in range(0, splits.shape[0], _CHUNK):
        ins = (splits[lo : lo + _CHUNK] @ flat).reshape(-1, n_trials, 3)
        sr_in = np.nan_to_num(_sharpe(ins), nan=-np.inf)
        sr_out = np.nan_to_num(_sharpe(total.reshape(n_trials, 3) - ins), nan=-np.inf)
        best = np.argmax(sr_in, axis=1)
        won = sr_out[np.arange(best.shape[0]), best][:, None]
        rank = (sr_out < won).sum(axis=1) + ((sr_out == won).sum(axis=1) + 1) / 2.0
        w = rank / (n_trials + 1.0)
        logits.append(np.log(w / (1.0 - w)))
    lam = np.concatenate(logits)
    return Pbo(float(np.mean(lam <= 0.0)), lam, s)


def pbo(performance: F64, n_blocks: int = BLOCKS) -> Pbo:
    """:func:`pbo_of_blocks` of a ``(T, N)`` matrix of per-period returns (one column per
    trial), cut into ``n_blocks`` row blocks.

    Raises:
        ValueError: see :func:`block_moments` and :func:`pbo_of_blocks`.
    """
    return pbo_of_blocks(block_moments(np.asarray(performance, dtype=np.float64), n_blocks))


@dataclass(frozen=True)
class Guards:
    """The overfitting figures of a search's winner (per-period Sharpe ratios)."""

    n_trials: int
    psr: float
    dsr: float
    pbo: float
    sharpe: float
    expected_max_sharpe: float
    n_blocks: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; undefined figures are None."""
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = v if not isinstance(v, float) or math.isfinite(v) else None
        return out


def guards_of(blocks: F64, winner: int) -> Guards:
    """PSR and DSR of trial ``winner`` and the search's PBO, from per-block power sums of
    every trial (shape ``(S, N, 5)``). DSR's variance is that of the trials' per-period
    Sharpe ratios (the undefined ones left out); PBO is NaN for a single trial.

    Raises:
        ValueError: ``blocks`` is not ``(S, N, 5)`` or ``winner`` is out of range.
    """
    b = np.asarray(blocks, dtype=np.float64)
    if b.ndim != 3 or b.shape[2] != 5 or not 0 <= winner < b.shape[1]:
        raise ValueError("blocks must be (S, N, 5) and winner one of the N trials")
    n_trials = int(b.shape[1])
    stats = sharpe_stats(b[:, winner])
    srs = _sharpe(b.sum(axis=0))
    srs = srs[np.isfinite(srs)]
    var = float(np.var(srs, ddof=1)) if srs.shape[0] > 1 else 0.0
    sr0 = expected_max_sharpe(n_trials, var)
    dsr = probabilistic_sharpe_ratio(stats.sharpe, stats.n, stats.skew, stats.kurtosis, sr0)
    prob = pbo_of_blocks(b).pbo if n_trials > 1 and b.shape[0] % 2 == 0 else math.nan
    return Guards(
        n_trials=n_trials,
        psr=probabilistic_sharpe_ratio(stats.sharpe, stats.n, stats.skew, stats.kurtosis),
        dsr=dsr,
        pbo=prob,
        sharpe=stats.sharpe,
        expected_max_sharpe=sr0,
        n_blocks=int(b.shape[0]),
    )
