"""Kwont's engine against a plain numba loop on the same data: the speed ratios of issue 19.

The plain loop is what one would write by hand for exactly this strategy: the two SMAs
(the same Kahan running sum as Kwont's, so both take the same trades), then one fused
pass that reads the crosses, trades long only all-in at the next open with the fee, marks
equity at each close and accumulates the headline statistics (total return, Sharpe, max
drawdown, trade count). It knows nothing of strategies, stops, sizing, leverage or trade
records. Its grid computes each distinct SMA window once ("cached indicators") and runs
the 90 combinations one after another on one core; Kwont's grid is ``grid_search`` on all
cores (with its overfitting guards, or without: ``guards=False``).

Timing: three rounds in the same process, each the best of a few repeats of Kwont and the
plain loop called alternately; the printed range is the ratio Kwont / plain over the rounds.
Rows with a feature switched on (margin tiers, Monte Carlo, guards) are divided by the
same plain loop, so they show what the feature costs. The bench checks that both sides
agree on the trade count and final equity before it prints a ratio.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numba
import numpy as np

from kwont_quant import BacktestConfig, Candles, run_backtest
from kwont_quant.montecarlo import monte_carlo_of
from kwont_quant.optimize import expand_grid, grid_search, parse_range
from kwont_quant.synthetic import gbm_ohlcv

N_BARS, FAST, SLOW, FEE, ROUNDS = 525_600, 10, 30, 0.001, 3
GRID = {"fast": parse_range("5:50:5"), "slow": parse_range("20:200:20")}
CONFIG = BacktestConfig(cash=10_000, fee_bps=FEE * 1e4, long_only=True)
TIERS = replace(CONFIG, margin_tiers=True)
# Targets of issue 19: Kwont / plain loop, features off.
TARGETS = {"single": 1.5, "grid": 2.0}
F64 = np.ndarray


@numba.njit(cache=True, nogil=True)
def plain_sma(x: F64, n: int) -> F64:
    """SMA of ``x`` over ``n`` bars in a plain loop (compensated sum); NaN until full."""
    out = np.full(x.shape[0], np.nan)
    s = 0.0
    c = 0.0
    for i in range(x.shape[0]):
        y = x[i] - c
        t = s + y
        c = (t - s) - y
        s = t
        if i >= n:
            y = -x[i - n] - c
            t = s + y
            c = (t - s) - y
            s = t
        if i >= n - 1:
            out[i] = s / n
    return out


@numba.njit(cache=True, nogil=True)
def plain_run(
    o: F64, c: F64, f: F64, s: F64, start: int, cash: float, fee: float
) -> tuple[float, int, float, float]:
    """Final equity, trades, per-bar Sharpe, max drawdown of the long-only SMA cross."""
    bal = cash
    qty = 0.0
    entry = 0.0
    held = False
    trades = 0
    prev = cash
    peak = cash
    max_dd = 0.0
    total = 0.0
    sq = 0.0
    m = 0
    for i in range(1, c.shape[0]):
        if i > start:
            j = i - 1
            up = f[j - 1] < s[j - 1] and f[j] > s[j]
            down = f[j - 1] > s[j - 1] and f[j] < s[j]
            if held and down:
                px = o[i]
                bal += qty * (px - entry) - qty * px * fee
                held = False
                trades += 1
            if not held and up and not down and bal > 0.0:
                px = o[i]
                qty = bal / (px * (1.0 + fee))
                entry = px
                bal -= qty * px * fee
                held = True
        eq = bal + qty * (c[i] - entry) if held else bal
        if i > start:
            r = eq / prev - 1.0
            total += r
            sq += r * r
            m += 1
            if eq >= peak:
                peak = eq
            elif 1.0 - eq / peak > max_dd:
                max_dd = 1.0 - eq / peak
        prev = eq
    mean = total / m
    std = math.sqrt((sq - total * mean) / (m - 1))
    return prev, trades + (1 if held else 0), mean / std, max_dd


def plain_single(c: Candles, fast: int = FAST, slow: int = SLOW) -> tuple[float, int]:
    """One plain SMA-cross run over ``c``: final equity and trade count."""
    f, s = plain_sma(c.close, fast), plain_sma(c.close, slow)
    final, trades, _, _ = plain_run(c.open, c.close, f, s, slow, 10_000.0, FEE)
    return final, trades


def plain_grid(c: Candles, combos: list[dict[str, Any]]) -> list[float]:
    """Plain SMA-cross runs of every combination (each window's SMA once): final equities."""
    windows = sorted({p["fast"] for p in combos} | {p["slow"] for p in combos})
    ma = {w: plain_sma(c.close, w) for w in windows}
    return [
        plain_run(c.open, c.close, ma[p["fast"]], ma[p["slow"]], p["slow"], 10_000.0, FEE)[2]
        for p in combos
    ]


def _pair(ours: Callable[[], Any], plain: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Best wall time of each, the two calls alternating, so load that comes and goes
    falls on both sides alike."""
    best = [math.inf, math.inf]
    for _ in range(repeats):
        for k, fn in enumerate((ours, plain)):
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best[0], best[1]


def _kwont_single(c: Candles, cfg: BacktestConfig, mc: bool) -> Callable[[], Any]:
    def run() -> Any:
        r = run_backtest("sma_cross", c, cfg, {"fast": FAST, "slow": SLOW}, symbol="BTCUSDT")
        return monte_carlo_of(r) if mc else r

    return run


def main() -> None:
    """Measure and print the ratio table."""
    c = gbm_ohlcv(N_BARS, seed=42)
    combos = expand_grid("sma_cross", GRID)
    # Warm both sides (numba compile or cache load) and check they agree.
    r = run_backtest("sma_cross", c, CONFIG, {"fast": FAST, "slow": SLOW})
    final, trades = plain_single(c)
    if trades != len(r.trades) or final != r.final_equity:
        raise SystemExit(
            f"plain loop disagrees: {final} / {trades} vs {r.final_equity} / {len(r.trades)}"
        )
    plain_grid(c, combos)
    n = len(combos)

    def single() -> Any:
        return plain_single(c)

    def grid() -> Any:
        return plain_grid(c, combos)

    def ours_grid(guards: bool) -> Callable[[], Any]:
        return lambda: grid_search("sma_cross", GRID, c, CONFIG, guards=guards)

    rows: list[tuple[str, str, Callable[[], Any], Callable[[], Any], int]] = [
        ("single", "single run, features off", _kwont_single(c, CONFIG, False), single, 7),
        ("", "single run, margin tiers", _kwont_single(c, TIERS, False), single, 7),
        ("", "single run, Monte Carlo", _kwont_single(c, CONFIG, True), single, 7),
        ("grid", f"grid {n}, guards off", ours_grid(False), grid, 2),
        ("", f"grid {n}, guards on", ours_grid(True), grid, 2),
    ]
    ratios: dict[str, list[float]] = {label: [] for _, label, *_ in rows}
    times: dict[str, list[tuple[float, float]]] = {label: [] for _, label, *_ in rows}
    for _ in range(ROUNDS):
        for _, label, ours, plain, repeats in rows:
            k, p = _pair(ours, plain, repeats)
            ratios[label].append(k / p)
            times[label].append((k, p))
    print(f"\nKwont / plain numba loop, {N_BARS:,} bars, {ROUNDS} interleaved rounds")
    print(f"{'row':<30}{'Kwont s':>10}{'plain s':>10}{'ratio range':>16}{'target':>10}")
    for key, label, *_ in rows:
        lo, hi = min(ratios[label]), max(ratios[label])
        k = min(t[0] for t in times[label])
        p = min(t[1] for t in times[label])
        target = TARGETS.get(key)
        verdict = "" if target is None else f"{'<=' if hi <= target else 'MISSED '}{target}x"
        print(f"{label:<30}{k:>10.4f}{p:>10.4f}{lo:>8.2f}-{hi:.2f}x{verdict:>10}")


if __name__ == "__main__":
    main()
