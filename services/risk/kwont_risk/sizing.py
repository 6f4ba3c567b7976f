"""Position sizing with the backtest engine's rules (kwont_quant.live), as Decimal orders.

``fraction``: ``entry_quantity(equity, fill, fee, leverage, fraction, size_hint or 1)``,
the engine's sizing exactly when the account is flat on every other symbol (equity =
cash). ``risk``: lose ``value`` of equity if the stop is hit (``risk_quantity``); a signal
without a stop falls back to fraction sizing with value 1 (AccountConfig.Sizing).
"""

from __future__ import annotations

from decimal import Decimal

from kwont_common.events import Signal
from kwont_common.trading.accounts import AccountConfig
from kwont_quant.live import entry_quantity, market_price, risk_quantity, stop_levels
from kwont_risk.rules import round_step


def fill_price(account: AccountConfig, side: int, reference_price: float) -> float:
    """The price a market order of ``side`` is expected to fill at."""
    return market_price(side, reference_price, account.slippage_rate)


def stop_price(signal: Signal, side: int, fill: float) -> float | None:
    """The stop-loss price: the signal's, or its percentage anchored at the fill."""
    if signal.stop_loss is not None:
        return signal.stop_loss
    sl, _ = stop_levels(side, fill, signal.stop_loss_pct, None)
    return sl


def raw_quantity(account: AccountConfig, signal: Signal, side: int, equity: float) -> float:
    """The engine's quantity for an entry of ``side`` on ``equity`` (a float, unrounded)."""
    fill = fill_price(account, side, signal.reference_price)
    fee, leverage = account.fee_rate, float(account.leverage)
    if account.sizing.mode == "risk":
        stop = stop_price(signal, side, fill)
        if stop is not None:
            return risk_quantity(equity, fill, stop, account.sizing.value, fee, leverage)
        return entry_quantity(equity, fill, fee, leverage, 1.0)
    size = signal.size_hint or 1.0
    return entry_quantity(equity, fill, fee, leverage, account.sizing.value, size)


def quantity(raw: float, step: Decimal | None) -> Decimal:
    """An order quantity: the float's shortest decimal form, rounded down to the lot step
    (never negative)."""
    if raw <= 0 or raw != raw:  # NaN or nothing to buy
        return Decimal(0)
    return round_step(Decimal(repr(raw)), step)
