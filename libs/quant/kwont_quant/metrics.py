"""Performance metrics of an equity curve and a trade list.

Conventions (stated once, used everywhere): returns are simple per-bar returns of the
equity marked at each close; annualisation assumes markets that never close (crypto):
``periods_per_year = 365.25 days / bar interval``; the risk-free rate is 0; volatility
and Sharpe use the sample standard deviation (ddof = 1); Sortino divides by the root
mean square of the negative returns; drawdowns are fractions of the running peak.
Undefined values are NaN (no trades: no win rate) and ratios with a zero denominator
are +inf; ``to_dict`` turns both into ``None`` so results stay valid JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kwont_quant import _kernels_engine as ke
from kwont_quant._jit import jit
from kwont_quant.candles import F64, I64

MS_PER_YEAR = 365.25 * 24 * 3600 * 1000


@jit
def _equity_stats(eq: F64, start: int) -> tuple[float, float, float, float, int, int]:
    # One pass: sums for mean/variance (per-bar returns are small and centred near 0,
    # so the textbook formula loses nothing here), downside sum of squares, and the
    # running-peak drawdown.
    n = 0
    total = 0.0
    sq = 0.0
    down = 0.0
    peak = eq[start]
    peak_i = start
    max_dd = 0.0
    max_dur = 0
    for i in range(start + 1, eq.shape[0]):
        prev = eq[i - 1]
        r = eq[i] / prev - 1.0 if prev > 0.0 else 0.0
        n += 1
        total += r
        sq += r * r
        # min, not "if r < 0": with the select above, numba's branchy form ran 5x slower
        d = min(r, 0.0)
        down += d * d
        # The drawdown from the peak so far, at every bar: at or above the peak (> 0, it
        # starts at the cash) it is <= 0 and changes nothing, and the loop has no branch.
        dd = 1.0 - eq[i] / peak
        max_dd = dd if dd > max_dd else max_dd
        if eq[i] >= peak:
            if eq[i - 1] < peak and i - peak_i > max_dur:
                max_dur = i - peak_i  # recovered: peak-to-recovery span
            peak = eq[i]
            peak_i = i
    mean = total / n if n > 0 else 0.0
    var = (sq - total * mean) / (n - 1) if n > 1 else 0.0
    if eq[eq.shape[0] - 1] < peak and eq.shape[0] - 1 - peak_i > max_dur:
        max_dur = eq.shape[0] - 1 - peak_i  # still under water at the end
    std = math.sqrt(var) if var > 0.0 else 0.0
    downside = math.sqrt(down / n) if n > 0 else 0.0
    return mean, std, downside, max_dd, max_dur, n


@dataclass(frozen=True)
class Metrics:
    """Headline statistics of one backtest (fractions, not percent)."""

    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_duration_bars: int
    max_drawdown_duration_ms: int
    win_rate: float
    profit_factor: float
    expectancy: float
    avg_trade_return: float
    exposure: float
    n_trades: int
    total_fees: float
    final_equity: float
    funding_paid: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; NaN and infinities become None."""
        return {k: _json_number(v) for k, v in asdict(self).items()}


def _json_number(v: float | int) -> float | int | None:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _ratio(num: float, den: float) -> float:
    if den > 0.0:
        return num / den
    return math.inf if num > 0.0 else (0.0 if num == 0.0 else -math.inf)


def compute_metrics(
    equity: F64,
    times: I64,
    trades: F64,
    exposed_bars: int,
    start: int = 0,
    interval_ms: int | None = None,
    funding: F64 | None = None,
) -> Metrics:
    """Metrics of ``equity[start:]`` and the trade records of the engine kernel.

    ``interval_ms`` (bar length) defaults to the smallest step of ``times``; ``funding``
    is the funding each trade paid (``funding_paid`` is its sum; trade pnl is net of it).
    """
    n_bars = equity.shape[0] - start
    step = interval_ms or (int(np.diff(times).min()) if times.shape[0] > 1 else 60_000)
    ppy = MS_PER_YEAR / step
    mean, std, downside, max_dd, dd_bars, _ = _equity_stats(equity, start)
    initial, final = float(equity[start]), float(equity[-1])
    total = final / initial - 1.0
    years = (int(times[-1]) - int(times[start]) + step) / MS_PER_YEAR
    cagr = (final / initial) ** (1.0 / years) - 1.0 if final > 0.0 else -1.0
    ann = math.sqrt(ppy)
    closed = trades[trades[:, ke.T_REASON] != ke.OPEN]
    pnl = closed[:, ke.T_PNL]
    wins, losses = pnl[pnl > 0.0], pnl[pnl < 0.0]
    notional = closed[:, ke.T_QTY] * closed[:, ke.T_ENTRY_PX]
    has = pnl.shape[0] > 0
    return Metrics(
        total_return=total,
        cagr=cagr,
        volatility=std * ann,
        sharpe=mean / std * ann if std > 0.0 else 0.0,
        sortino=_ratio(mean, downside) * ann if mean != 0.0 else 0.0,
        calmar=_ratio(cagr, max_dd),
        max_drawdown=max_dd,
        max_drawdown_duration_bars=int(dd_bars),
        max_drawdown_duration_ms=int(dd_bars) * step,
        win_rate=float(wins.shape[0] / pnl.shape[0]) if has else math.nan,
        profit_factor=_ratio(float(wins.sum()), float(-losses.sum())) if has else math.nan,
        expectancy=float(pnl.mean()) if has else math.nan,
        avg_trade_return=float((pnl / notional).mean()) if has else math.nan,
        exposure=exposed_bars / n_bars if n_bars else 0.0,
        n_trades=int(pnl.shape[0]),
        total_fees=float(trades[:, ke.T_FEES].sum()),
        final_equity=final,
        funding_paid=float(funding.sum()) if funding is not None else 0.0,
    )
