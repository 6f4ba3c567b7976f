"""The backtest engine for one symbol: signals in, trades, equity and metrics out.

Execution rules (the same in every run, documented in docs/strategies.md):

* Signals are judged at a bar's close; the resulting market order fills at the next
  bar's open. A signal on the last bar is not executed.
* Order of events in a bar: (1) signal exit at the open (a long also closes on a short
  entry when shorts are allowed: a reversal), (2) signal entry at the open when flat
  (opposite entries on one bar cancel out; an exit and an entry of the same side on one
  bar mean "stay out"), (3) stop-loss / take-profit / liquidation inside the bar,
  (4) equity marked at the close. No pyramiding: one position at a time.
* Stops are checked against the bar's high and low, including the bar the position was
  opened in (its open is the first price of the bar). A bar that touches both the
  stop-loss and the take-profit is assumed to hit the stop-loss first (the worse case).
  A bar that opens beyond the stop fills at the open; beyond the take-profit, at the
  open too (the better price, as a resting limit order would).
* Market fills (signals, stop-loss) pay slippage: buys at price x (1 + slippage),
  sells at price x (1 - slippage). Take-profits are limit orders: no slippage.
  Every fill pays ``fee_bps`` of its notional.
* Sizing: ``qty = budget x leverage / (fill x (1 + fee x leverage))`` so that margin
  plus entry fee equal the budget (all-in spot: ``cash / (fill x (1 + fee))``).
* Leverage uses isolated margin ``notional / leverage``; the liquidation price is where
  the loss leaves only the maintenance margin: long ``entry (1 - 1/L) / (1 - mmr)``,
  short ``entry (1 + 1/L) / (1 + mmr)``. Liquidation fills at that price (the exchange
  stops the loss at the margin, even through a gap) and pays the fee. An unleveraged
  short is liquidated when the price has about doubled.
* With ``margin_tiers`` the rate is the symbol's notional bracket's instead
  (:mod:`kwont_quant.brackets`, Binance's isolated formula with the bracket's ``cum``), and
  an entry is capped to the largest notional the brackets allow at the leverage.
* A position still open after the last bar is marked to the last close and reported as
  an ``open`` trade (or closed there when ``close_at_end``).
* Funding (perpetuals, ``funding=``): a funding row at time ``t`` in bar ``b`` is paid
  by the position still open after bar ``b``'s exits, i.e. entered at or before ``t``
  and exiting after it by the trade times reported (a position stopped out inside ``b``
  does not pay it; one closed at the end of the data does). It pays
  ``signed_qty x mark x rate`` (a short receives a positive rate) from the balance; the
  trade's ``funding`` is the sum and its ``pnl`` is net of it.
* All arithmetic is float64, in a fixed order: the same input gives bit-identical
  output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kwont_quant import _kernels_engine as ke
from kwont_quant.brackets import DEFAULT_TABLES, default_table
from kwont_quant.candles import F64, Candles
from kwont_quant.config import BacktestConfig
from kwont_quant.errors import ConfigError
from kwont_quant.funding import NO_FUNDING, FundingRates
from kwont_quant.metrics import compute_metrics
from kwont_quant.results import BacktestResult, TradeLog
from kwont_quant.signals import SignalArrays


def run_engine(
    candles: Candles,
    signals: SignalArrays,
    config: BacktestConfig,
    *,
    symbol: str = "",
    strategy: str = "",
    params: dict[str, Any] | None = None,
    start: int = 0,
    cash: float | None = None,
    funding: FundingRates | None = None,
) -> BacktestResult:
    """Simulate ``signals`` on ``candles``.

    ``start`` is the first bar whose signals may trade (earlier bars only feed the
    indicators); metrics cover ``start`` to the end. ``cash`` overrides
    ``config.cash`` (a multi-symbol run gives each symbol its share). ``funding``: the
    symbol's funding rows, paid by the open position at each funding time (None: none).

    Raises:
        ConfigError: ``start`` outside the data.
    """
    n = len(candles)
    if not 0 <= start < n:
        raise ConfigError(f"start bar {start} is outside the data (0..{n - 1})")
    sizing_mode = 0 if config.sizing.mode == "fraction" else 1
    tiers = _tiers(config, symbol)
    rows = NO_FUNDING if funding is None else funding.on_bars(candles, config.interval_ms)
    equity, records, exposed, tpaid = ke.simulate(
        candles.open,
        candles.high,
        candles.low,
        candles.close,
        signals.enter_long,
        signals.exit_long,
        signals.enter_short,
        signals.exit_short,
        signals.size,
        signals.sl_kind,
        signals.sl_value,
        signals.tp_kind,
        signals.tp_value,
        float(config.cash if cash is None else cash),
        config.fee_rate,
        config.slippage_rate,
        sizing_mode,
        float(config.sizing.value),
        float(config.leverage),
        float(config.maintenance_margin),
        *tiers,
        not config.long_only,
        max(int(start), signals.warmup),
        bool(config.close_at_end),
        *rows,
    )
    paid = None if funding is None else tpaid
    metrics = compute_metrics(
        equity, candles.open_time_ms, records, exposed, start, config.interval_ms, paid
    )
    return BacktestResult(
        symbol=symbol,
        strategy=strategy,
        params=dict(params or {}),
        metrics=metrics,
        trades=TradeLog(records, candles.open_time_ms, symbol, paid),
        open_time_ms=candles.open_time_ms,
        equity=equity,
        start=start,
    )


_NO_TIERS = (np.empty(0), np.empty(0), np.empty(0), 0.0)


def _tiers(config: BacktestConfig, symbol: str) -> tuple[F64, F64, F64, float]:
    """The kernel's bracket arrays (empty: the flat ``maintenance_margin``).

    Raises:
        ConfigError: tiers asked for a symbol without a bracket table, or a leverage no
            bracket allows.
    """
    if not config.margin_tiers:
        return _NO_TIERS
    if not symbol:
        raise ConfigError(
            "margin_tiers needs the symbol: run_backtest(..., symbol=...) or data as "
            "{symbol: candles} (kwont: --data files named after their symbol)"
        )
    table = default_table(symbol)
    if table is None:
        known = ", ".join(sorted(DEFAULT_TABLES))
        raise ConfigError(f"margin_tiers: no bracket table for {symbol!r} (known: {known})")
    cap = table.max_notional(config.leverage)
    if cap <= 0:
        raise ConfigError(
            f"margin_tiers: {symbol} allows at most {table.brackets[0].initial_leverage}x, "
            f"got leverage {config.leverage:g}"
        )
    return (*table.arrays(), float(cap))
