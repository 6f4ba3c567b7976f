"""Position sizing with the backtest engine's rules (kwont_quant.live), as Decimal orders.

``fraction``: ``entry_quantity(equity, fill, fee, leverage, fraction, size_hint or 1)``,
the engine's sizing exactly when the account is flat on every other symbol (equity =
cash). ``risk``: lose ``value`` of equity if the stop is hit (``risk_quantity``); a signal
without a stop falls back to fraction sizing with value 1 (AccountConfig.Sizing).

The fill and the stop are the ones the venue will make: the paper fill model and the
rounding rule of :mod:`kwont_common.trading.exchange`.
"""

from __future__ import annotations

from decimal import Decimal

from kwont_common.events import Signal
from kwont_common.trading import exchange
from kwont_common.trading.accounts import AccountConfig
from kwont_common.trading.exchange import SymbolFilters
from kwont_quant.live import entry_quantity, risk_quantity


def rates(account: AccountConfig) -> exchange.Rates:
    """The account's fee and slippage rates as Decimal."""
    return exchange.Rates.of(account.fee_rate, account.slippage_rate)


def fill_price(
    account: AccountConfig, side: int, reference_price: float, filters: SymbolFilters
) -> Decimal:
    """The price a market order of ``side`` is expected to fill at (the paper fill model)."""
    return exchange.market_fill(
        side, reference_price, Decimal(0), rates(account), filters.tick_size
    ).price


def stop_price(signal: Signal, side: int, fill: Decimal, filters: SymbolFilters) -> Decimal | None:
    """The stop-loss price: the signal's, or its percentage anchored at the fill; on the
    tick by the rounding rule."""
    stop = None if signal.stop_loss is None else exchange.to_decimal(signal.stop_loss)
    sl, _ = exchange.protective_levels(
        side, fill, signal.stop_loss_pct, None, stop, None, filters.tick_size
    )
    return sl


def raw_quantity(
    account: AccountConfig, signal: Signal, side: int, equity: float, filters: SymbolFilters
) -> float:
    """The engine's quantity for an entry of ``side`` on ``equity`` (a float, unrounded)."""
    fill = fill_price(account, side, signal.reference_price, filters)
    fee, leverage = account.fee_rate, float(account.leverage)
    if account.sizing.mode == "risk":
        stop = stop_price(signal, side, fill, filters)
        if stop is not None:
            value = account.sizing.value
            return risk_quantity(equity, float(fill), float(stop), value, fee, leverage)
        return entry_quantity(equity, float(fill), fee, leverage, 1.0)
    size = signal.size_hint or 1.0
    return entry_quantity(equity, float(fill), fee, leverage, account.sizing.value, size)


def quantity(raw: float, step: Decimal | None) -> Decimal:
    """An order quantity: the float's shortest decimal form, rounded down to the lot step
    (never negative)."""
    if raw <= 0 or raw != raw:  # NaN or nothing to buy
        return Decimal(0)
    return exchange.round_quantity(exchange.to_decimal(raw), step)
