"""``run_backtest``: the one call the CLI, the optimiser and the sandbox use."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from kwont_quant import _kernels_engine as ke
from kwont_quant.candles import Candles
from kwont_quant.config import BacktestConfig
from kwont_quant.engine import run_engine
from kwont_quant.errors import ConfigError
from kwont_quant.funding import FundingRates
from kwont_quant.loader import load_strategy
from kwont_quant.metrics import compute_metrics
from kwont_quant.results import BacktestResult, PortfolioResult
from kwont_quant.seam import compute_signals, instantiate
from kwont_quant.strategy import Strategy


@dataclass(frozen=True)
class Progress:
    """A progress report: ``done`` of ``total`` units of ``phase`` finished."""

    phase: str
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        """done / total, 1.0 when there is nothing to do."""
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]
StrategySpec = str | Path | type[Strategy] | Strategy
FundingSpec = FundingRates | Mapping[str, FundingRates] | None
NO_ROWS = FundingRates.of([], [])


def resolve_strategy(spec: StrategySpec, params: Mapping[str, object] | None) -> Strategy:
    """A ready strategy instance from a name, a file path, a class or an instance.

    Raises:
        StrategyLoadError: the name or file cannot be resolved.
        ParameterError: bad parameters (or parameters given with an instance).
        StrategyError: the strategy's constructor crashed.
    """
    if isinstance(spec, Strategy):
        if params:
            raise ConfigError("pass parameters either to the strategy or to run_backtest")
        return spec
    cls = spec if isinstance(spec, type) else load_strategy(spec)
    return instantiate(cls, params)


@overload
def run_backtest(
    strategy: StrategySpec,
    data: Candles,
    config: BacktestConfig | None = ...,
    params: Mapping[str, object] | None = ...,
    progress: ProgressCallback | None = ...,
    *,
    symbol: str = ...,
    start: int = ...,
    funding: FundingSpec = ...,
) -> BacktestResult: ...
@overload
def run_backtest(
    strategy: StrategySpec,
    data: Mapping[str, Candles],
    config: BacktestConfig | None = ...,
    params: Mapping[str, object] | None = ...,
    progress: ProgressCallback | None = ...,
    *,
    symbol: str = ...,
    start: int = ...,
    funding: FundingSpec = ...,
) -> PortfolioResult: ...
@overload
def run_backtest(
    strategy: StrategySpec,
    data: Candles | Mapping[str, Candles],
    config: BacktestConfig | None = ...,
    params: Mapping[str, object] | None = ...,
    progress: ProgressCallback | None = ...,
    *,
    symbol: str = ...,
    start: int = ...,
    funding: FundingSpec = ...,
) -> BacktestResult | PortfolioResult: ...
def run_backtest(
    strategy: StrategySpec,
    data: Candles | Mapping[str, Candles],
    config: BacktestConfig | None = None,
    params: Mapping[str, object] | None = None,
    progress: ProgressCallback | None = None,
    *,
    symbol: str = "",
    start: int = 0,
    funding: FundingSpec = None,
) -> BacktestResult | PortfolioResult:
    """Backtest ``strategy`` on one symbol's candles or a ``{symbol: candles}`` mapping.

    ``strategy`` is a built-in name, a ``.py`` path, a Strategy class or instance;
    ``params`` override its defaults. One symbol returns a :class:`BacktestResult`; a
    mapping returns a :class:`PortfolioResult` in which ``config.cash`` is split
    equally, each symbol trades independently, and the combined equity is the sum of
    the symbols' equity (carried forward over times where a symbol has no candle).
    ``progress`` is called after each symbol (phase ``"backtest"``). ``funding``: the
    perpetual funding rows the open positions pay (:class:`FundingRates` for one symbol,
    ``{symbol: FundingRates}`` for a mapping; a symbol without rows pays none).

    Raises:
        StrategyLoadError, ParameterError, StrategyError, ConfigError: see
        :func:`resolve_strategy`, :func:`~kwont_quant.seam.compute_signals` and
        :func:`~kwont_quant.engine.run_engine`. Nothing is returned half-done.
    """
    cfg = config or BacktestConfig()
    strat = resolve_strategy(strategy, params)
    name, values = strat.strategy_name(), strat.params
    if isinstance(data, Candles):
        sig = compute_signals(strat, data)
        if funding is not None and not isinstance(funding, FundingRates):
            raise ConfigError("one symbol's candles take funding=FundingRates, not a mapping")
        result = run_engine(
            data,
            sig,
            cfg,
            symbol=symbol,
            strategy=name,
            params=values,
            start=start,
            funding=funding,
        )
        if progress:
            progress(Progress("backtest", 1, 1, symbol))
        return result
    if not data:
        raise ConfigError("no symbols to backtest")
    if isinstance(funding, FundingRates):
        raise ConfigError("a {symbol: candles} mapping takes funding={symbol: FundingRates}")
    share = cfg.cash / len(data)
    results: dict[str, BacktestResult] = {}
    for k, (sym, candles) in enumerate(sorted(data.items())):
        sig = compute_signals(strat, candles)
        rows = None if funding is None else funding.get(sym, NO_ROWS)
        results[sym] = run_engine(
            candles,
            sig,
            cfg,
            symbol=sym,
            strategy=name,
            params=values,
            cash=share,
            funding=rows,
        )
        if progress:
            progress(Progress("backtest", k + 1, len(data), sym))
    return _combine(name, values, results, share, cfg)


def _combine(
    name: str,
    values: dict[str, Any],
    results: dict[str, BacktestResult],
    share: float,
    cfg: BacktestConfig,
) -> PortfolioResult:
    times = np.unique(np.concatenate([r.open_time_ms for r in results.values()]))
    total = np.zeros(times.shape[0])
    for r in results.values():
        # Index of each grid time in this symbol's own (sorted) times; before its first
        # candle the symbol still holds its untouched cash share.
        pos = np.searchsorted(r.open_time_ms, times, side="right") - 1
        total += np.where(pos >= 0, r.equity[np.maximum(pos, 0)], share)
    records = np.concatenate([r.trades.records for r in results.values()])
    paid = [r.trades.paid for r in results.values() if r.trades.paid is not None]
    exposure = float(np.mean([r.metrics.exposure for r in results.values()]))
    step = cfg.interval_ms or min(
        (
            int(np.median(np.diff(r.open_time_ms)))
            for r in results.values()
            if r.open_time_ms.shape[0] > 1
        ),
        default=None,
    )
    m = compute_metrics(
        total,
        times,
        records if records.size else np.empty((0, ke.N_COLS)),
        0,
        0,
        step,
        np.concatenate(paid) if paid else None,
    )
    m = type(m)(**{**m.__dict__, "exposure": exposure})
    return PortfolioResult(name, values, results, m, times, total)
