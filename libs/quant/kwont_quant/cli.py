"""The ``kwont`` command line: ``kwont backtest``, ``kwont optimize``, ``kwont strategies``,
and ``kwont divergence`` (against the platform's API, :mod:`kwont_quant.cli_divergence`).

Exit status: 0 on success, 2 for bad input (data, parameters, settings, strategy
file), 1 when the strategy code itself failed (its traceback is printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kwont_quant import cli_divergence
from kwont_quant.backtest import Progress, run_backtest
from kwont_quant.candles import Candles
from kwont_quant.config import BacktestConfig, Sizing
from kwont_quant.data import read_csv
from kwont_quant.errors import ParameterError, QuantError, StrategyError
from kwont_quant.funding import concat_funding, read_funding_csv, synthetic_funding
from kwont_quant.loader import describe_strategy, load_strategy
from kwont_quant.montecarlo import PATHS, monte_carlo_of
from kwont_quant.optimize import OBJECTIVES, grid_search, parse_range
from kwont_quant.report import print_backtest, print_optimization, print_walk_forward
from kwont_quant.strategies import BUILTINS
from kwont_quant.walkforward import walk_forward


def _pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"{what} {item!r} must look like name=value")
        out[key.strip()] = value.strip()
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kwont", description="Kwont strategy backtesting")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--strategy", required=True, help="built-in name or path to a .py file")
        p.add_argument(
            "--data",
            required=True,
            action="append",
            metavar="FILE.csv",
            help="OHLCV CSV (Binance klines or timestamp,open,...); repeat for "
            "several symbols (named after the file)",
        )
        p.add_argument("--cash", type=float, default=10_000.0)
        p.add_argument("--fee-bps", type=float, default=10.0)
        p.add_argument("--slippage-bps", type=float, default=0.0)
        p.add_argument("--leverage", type=float, default=1.0)
        p.add_argument("--size", type=float, default=1.0, help="fraction of equity per entry")
        p.add_argument("--notional", type=float, help="fixed notional per entry instead")
        p.add_argument("--long-only", action="store_true")
        p.add_argument("--margin-tiers", action="store_true", help="liquidate by notional bracket")
        p.add_argument("--close-at-end", action="store_true")
        p.add_argument("--allow-gaps", action="store_true", help="accept missing candles")
        p.add_argument("--json", action="store_true", help="print one JSON document")
        p.add_argument(
            "--funding",
            action="append",
            metavar="FILE.csv|synthetic",
            help="perpetual funding paid by open positions: Binance funding CSV files "
            "(repeat for months/symbols; named SYMBOL-fundingRate-... with several --data) "
            "or 'synthetic' (8-hourly demo rates)",
        )

    bt = sub.add_parser("backtest", help="run one backtest")
    common(bt)
    bt.add_argument("--param", action="append", metavar="K=V", help="strategy parameter")
    bt.add_argument("--equity-curve", action="store_true", help="include it in --json")
    bt.add_argument(
        "--mc-paths",
        type=int,
        default=PATHS,
        metavar="N",
        help=f"Monte Carlo paths of the trade sequence (default {PATHS}; 0: none)",
    )
    bt.add_argument("--mc-seed", type=int, default=0, metavar="SEED", help="its random seed")

    opt = sub.add_parser("optimize", help="grid search (optionally walk-forward)")
    common(opt)
    opt.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="K=START:STOP:STEP",
        help="parameter range (inclusive), or K=a,b,c",
    )
    opt.add_argument("--param", action="append", metavar="K=V", help="fixed parameter")
    opt.add_argument("--objective", default="sharpe", choices=sorted(OBJECTIVES))
    opt.add_argument("--walk-forward", type=int, metavar="N", help="N rolling windows")
    opt.add_argument("--in-sample", type=float, default=0.75)
    opt.add_argument("--top", type=int, default=10, help="rows to print")
    opt.add_argument("--workers", type=int, help="threads (default: all cores)")

    st = sub.add_parser("strategies", help="list built-in strategies and their parameters")
    st.add_argument("--json", action="store_true")
    cli_divergence.add_parser(sub)
    return parser


def _load(paths: list[str], allow_gaps: bool) -> Candles | dict[str, Candles]:
    if len(paths) == 1:
        return read_csv(paths[0], allow_gaps=allow_gaps)
    data = {Path(p).stem: read_csv(p, allow_gaps=allow_gaps) for p in paths}
    if len(data) != len(paths):
        raise ParameterError("two --data files have the same name")
    return data


def _funding(specs: list[str] | None, data: Candles | dict[str, Candles]) -> tuple[Any, str]:
    """The ``funding=`` of ``--funding`` values and a line saying where it came from."""
    if not specs:
        return None, ""
    if specs == ["synthetic"]:
        if isinstance(data, dict):
            return {s: synthetic_funding(c, s) for s, c in data.items()}, "synthetic"
        return synthetic_funding(data), "synthetic"
    if "synthetic" in specs:
        raise ParameterError("--funding synthetic cannot be mixed with funding files")
    if not isinstance(data, dict):
        return concat_funding([read_funding_csv(p) for p in specs]), ", ".join(specs)
    out = {}
    for sym in data:
        files = [p for p in specs if Path(p).name.startswith(f"{sym}-")]
        out[sym] = concat_funding([read_funding_csv(p) for p in files])
    used = {p for p in specs if any(Path(p).name.startswith(f"{s}-") for s in data)}
    if used != set(specs):
        raise ParameterError(
            f"--funding {sorted(set(specs) - used)[0]} matches no --data symbol: name "
            f"funding files SYMBOL-fundingRate-... after the data files ({', '.join(data)})"
        )
    return out, ", ".join(specs)


def _config(args: argparse.Namespace) -> BacktestConfig:
    sizing = Sizing("notional", args.notional) if args.notional else Sizing("fraction", args.size)
    return BacktestConfig(
        cash=args.cash,
        fee_bps=args.fee_bps,
        slippage_bps=args.slippage_bps,
        sizing=sizing,
        leverage=args.leverage,
        long_only=args.long_only,
        margin_tiers=args.margin_tiers,
        close_at_end=args.close_at_end,
    )


class _Bar:
    """A one-line progress bar on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * p.fraction)
        sys.stderr.write(
            f"\r{p.phase:<12} [{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total}"
        )
        if p.done >= p.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _run(args: argparse.Namespace) -> Any:
    if args.command == "divergence":
        return cli_divergence.run(args)
    if args.command == "strategies":
        described = [describe_strategy(c) for c in BUILTINS.values()]
        if args.json:
            return described
        for d in described:
            shown = ", ".join(
                f"{p['name']}={p['default']} [{p['min']}..{p['max']}]" for p in d["parameters"]
            )
            print(f"{d['name']:<20} {shown}\n{'':<20} {d['description']}")
        return None
    cls = load_strategy(args.strategy)
    params = _pairs(args.param, "--param")
    config = _config(args)
    data = _load(args.data, args.allow_gaps)
    funding, source = _funding(args.funding, data)
    bar = _Bar(not args.json)
    if args.command == "backtest":
        result = run_backtest(cls, data, config, params, bar, funding=funding)
        mc = monte_carlo_of(result, args.mc_paths, args.mc_seed) if args.mc_paths > 0 else None
        if args.json:
            out = result.to_dict(equity_curve=args.equity_curve)
            out["monte_carlo"] = mc.to_dict() if mc else None
            return out
        print_backtest(result, args.data, mc, source if funding is not None else None)
        return None
    grid: dict[str, list[object]] = {
        k: list(parse_range(v)) for k, v in _pairs(args.grid, "--grid").items()
    }
    for k, v in params.items():
        grid.setdefault(k, [v])
    if args.walk_forward:
        if not isinstance(data, Candles):
            raise ParameterError("--walk-forward takes a single --data file")
        wf = walk_forward(
            cls,
            grid,
            data,
            config,
            args.walk_forward,
            args.in_sample,
            args.objective,
            bar,
            args.workers,
            funding=funding,
        )
        if args.json:
            return wf.to_dict()
        print_walk_forward(wf)
        return None
    opt = grid_search(cls, grid, data, config, args.objective, bar, args.workers, funding=funding)
    if args.json:
        return opt.to_dict()
    print_optimization(opt, args.top)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kwont`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        out = _run(args)
    except StrategyError as exc:
        print(f"kwont: strategy error: {exc}", file=sys.stderr)
        if exc.traceback_text:
            print(exc.traceback_text, file=sys.stderr)
        return 1
    except QuantError as exc:
        print(f"kwont: error: {exc}", file=sys.stderr)
        return 2
    if out is not None:
        json.dump(out, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
