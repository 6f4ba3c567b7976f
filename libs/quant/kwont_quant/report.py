"""Readable text summaries for the CLI (no JSON: that is ``to_dict``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from kwont_quant.metrics import Metrics
from kwont_quant.montecarlo import MonteCarlo
from kwont_quant.optimize import OptimizationResult
from kwont_quant.results import BacktestResult, PortfolioResult, iso_utc
from kwont_quant.walkforward import WalkForwardResult


def _pct(x: float) -> str:
    return f"{x * 100:,.2f} %" if math.isfinite(x) else ("n/a" if math.isnan(x) else "inf")


def _num(x: float) -> str:
    return f"{x:,.2f}" if math.isfinite(x) else ("n/a" if math.isnan(x) else "inf")


def metric_lines(m: Metrics) -> list[str]:
    """The headline metrics, two per line."""
    days = m.max_drawdown_duration_ms / 86_400_000
    pairs = [
        ("final equity", _num(m.final_equity)),
        ("total return", _pct(m.total_return)),
        ("CAGR", _pct(m.cagr)),
        ("volatility (ann.)", _pct(m.volatility)),
        ("Sharpe", _num(m.sharpe)),
        ("Sortino", _num(m.sortino)),
        ("Calmar", _num(m.calmar)),
        ("max drawdown", _pct(m.max_drawdown)),
        ("max DD duration", f"{m.max_drawdown_duration_bars:,} bars ({days:,.1f} d)"),
        ("exposure", _pct(m.exposure)),
        ("trades", f"{m.n_trades:,}"),
        ("win rate", _pct(m.win_rate)),
        ("profit factor", _num(m.profit_factor)),
        ("expectancy", _num(m.expectancy)),
        ("avg trade", _pct(m.avg_trade_return)),
        ("fees paid", _num(m.total_fees)),
    ]
    cells = [f"{k:<18}{v:>22}" for k, v in pairs]
    return ["   ".join(cells[i : i + 2]) for i in range(0, len(cells), 2)]


def funding_line(m: Metrics, source: str) -> str:
    """The funding total (positive: paid, negative: received) and where the rows came from."""
    return f"{'funding paid':<18}{_num(m.funding_paid):>22}   ({source}; pnl is net of it)"


def monte_carlo_lines(mc: MonteCarlo) -> list[str]:
    """The 5/50/95 % bands of both resamplings, one line each."""
    out = [
        f"Monte Carlo of {mc.trades:,} trades, {mc.paths:,} paths (seed {mc.seed}): p5 / p50 / p95"
    ]
    for name, b in (("reordered", mc.permutation), ("bootstrap", mc.bootstrap)):
        fe = " / ".join(_num(x) for x in b.final_equity)
        dd = " / ".join(_pct(x) for x in b.max_drawdown)
        out.append(f"  {name:<10} final equity {fe}   max drawdown {dd}")
    return out


def print_backtest(
    result: BacktestResult | PortfolioResult,
    sources: Sequence[str],
    mc: MonteCarlo | None = None,
    funding: str | None = None,
) -> None:
    """Print a backtest summary (with the funding line when ``funding`` names the rows
    applied), its Monte Carlo bands and the last trades."""
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    t = result.open_time_ms
    print(f"\n{result.strategy}({params})  on {', '.join(sources)}")
    print(f"{t.shape[0]:,} bars  {iso_utc(int(t[0]))} -> {iso_utc(int(t[-1]))}\n")
    for line in metric_lines(result.metrics):
        print(line)
    if funding is not None:
        print(funding_line(result.metrics, funding))
    if mc is not None:
        print()
        for line in monte_carlo_lines(mc):
            print(line)
    trades = (
        result.trades.to_list()
        if isinstance(result, BacktestResult)
        else sorted(
            (x for r in result.per_symbol.values() for x in r.trades.to_list()),
            key=lambda x: x["entry_time_ms"],
        )
    )
    if isinstance(result, PortfolioResult):
        print()
        for sym, r in result.per_symbol.items():
            m = r.metrics
            print(
                f"{sym:<16} return {_pct(m.total_return):>10}  Sharpe {_num(m.sharpe):>7}  "
                f"max DD {_pct(m.max_drawdown):>9}  trades {m.n_trades:>6,}"
            )
    if trades:
        shown = trades[-10:]
        print(f"\nlast {len(shown)} of {len(trades)} trades")
        print(
            f"{'side':<6}{'entry time':<22}{'entry':>12}  {'exit time':<22}{'exit':>12}"
            f"{'pnl':>12}  reason"
        )
        for x in shown:
            print(
                f"{x['side']:<6}{x['entry_time']:<22}{x['entry_price']:>12.6g}"
                f"  {x['exit_time']:<22}{x['exit_price']:>12.6g}{x['pnl']:>12,.2f}  "
                f"{x['exit_reason']}"
            )


def print_optimization(opt: OptimizationResult, top: int) -> None:
    """Print the best ``top`` parameter sets."""
    print(f"\n{len(opt.evaluations)} parameter sets ranked by {opt.objective}\n")
    print(f"{'#':>3}  {'score':>9}  {'return':>10}  {'max DD':>9}  {'trades':>7}  params")
    for k, e in enumerate(opt.evaluations[:top], start=1):
        m = e.metrics
        params = ", ".join(f"{a}={b}" for a, b in e.params.items())
        print(
            f"{k:>3}  {_num(e.score):>9}  {_pct(m.total_return):>10}  "
            f"{_pct(m.max_drawdown):>9}  {m.n_trades:>7,}  {params}"
        )
    g = opt.guards
    if g is not None:
        print(
            f"\noverfitting guards of #1 over {g.n_trials} trials: "
            f"PSR {_num(g.psr)}  DSR {_num(g.dsr)}  PBO {_num(g.pbo)} "
            f"(per-bar Sharpe {g.sharpe:.4f}, expected best of the trials "
            f"{g.expected_max_sharpe:.4f}, {g.n_blocks} CSCV blocks)"
        )


def print_walk_forward(wf: WalkForwardResult) -> None:
    """Print each window's in-sample winner next to its out-of-sample score."""
    print(f"\nwalk-forward, {len(wf.windows)} windows, objective {wf.objective}\n")
    print(f"{'out-of-sample span':<45}{'IS score':>10}{'OOS score':>11}  params")
    for w in wf.windows:
        span = f"{iso_utc(w.out_of_sample_start_ms)} -> {iso_utc(w.out_of_sample_end_ms)}"
        params = ", ".join(f"{a}={b}" for a, b in w.best.params.items())
        print(f"{span:<45}{_num(w.best.score):>10}{_num(w.out_of_sample.score):>11}  {params}")
    print(
        f"\nmean in-sample {_num(wf.mean_in_sample)}, "
        f"mean out-of-sample {_num(wf.mean_out_of_sample)}"
    )
