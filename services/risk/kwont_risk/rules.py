"""The entry rules of the risk gate: pure functions of the account's limits, the book and
the exchange filters. Exits are never judged here: they always pass.

A refusal is a :class:`Refusal` with a machine ``code`` (the ``risk-rejections`` code) and
a human ``reason``. Codes:

- ``kill_switch``: the account's kill switch is tripped (until reset or the next UTC day);
- ``max_daily_loss`` / ``max_drawdown``: the limit is breached now; the caller trips the
  kill switch (:data:`TRIPS`);
- ``max_leverage``: the account's leverage is above its limit;
- ``cooldown``: the last entry on the symbol was less than ``cooldown_s`` ago;
- ``max_open_positions``: open positions plus entries in flight reach the limit;
- ``zero_quantity``: sizing leaves nothing to buy (no cash, or the lot step eats it);
- ``min_qty`` / ``min_notional``: below the symbol's exchange filters;
- ``max_position_notional``: the position would be larger than the limit;
- ``bracket_leverage``: the account's leverage is above what the symbol's notional bracket
  allows for this notional (``kwont_quant.brackets``; symbols without a table pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kwont_common.trading.accounts import AccountConfig, RiskLimits
from kwont_common.trading.exchange import SymbolFilters, to_decimal
from kwont_quant.brackets import default_table
from kwont_risk.state import KillSwitch

TRIPS = ("max_daily_loss", "max_drawdown")
"""Codes that trip the kill switch."""


@dataclass(frozen=True)
class Refusal:
    """A refused entry: the ``risk-rejections`` ``code`` and a human ``reason``."""

    code: str
    reason: str


def breach(
    limits: RiskLimits, equity: Decimal, day_start: Decimal, peak: Decimal
) -> Refusal | None:
    """The daily-loss or drawdown limit equity is beyond, if any."""
    if limits.max_daily_loss is not None and day_start > 0:
        floor = day_start * (1 - to_decimal(limits.max_daily_loss))
        if equity < floor:
            loss = (day_start - equity) / day_start
            return Refusal(
                "max_daily_loss",
                f"equity {equity:.2f} is {loss:.2%} below the day's start {day_start:.2f} "
                f"(limit {limits.max_daily_loss:.2%}); kill switch tripped",
            )
    if limits.max_drawdown is not None and peak > 0:
        floor = peak * (1 - to_decimal(limits.max_drawdown))
        if equity < floor:
            down = (peak - equity) / peak
            return Refusal(
                "max_drawdown",
                f"equity {equity:.2f} is {down:.2%} below its peak {peak:.2f} "
                f"(limit {limits.max_drawdown:.2%}); kill switch tripped",
            )
    return None


@dataclass(frozen=True)
class Entry:
    """An entry as sized, with what the rules need to know about the account."""

    symbol: str
    time: int
    quantity: Decimal
    price: Decimal
    """Expected fill price (kwont_common.trading.exchange.market_fill)."""
    equity: Decimal
    day_start_equity: Decimal
    peak_equity: Decimal
    open_positions: int
    """Open positions plus entries in flight, on other symbols."""
    kill_switch: KillSwitch
    last_entry: int | None


def judge_entry(entry: Entry, account: AccountConfig, filters: SymbolFilters) -> Refusal | None:
    """The first rule ``entry`` breaks, or None when it may be sent. ``entry.quantity`` must
    already be rounded to the lot step."""
    limits = account.limits
    if entry.kill_switch.active(entry.time):
        return Refusal(
            "kill_switch",
            f"kill switch tripped ({entry.kill_switch.code}): {entry.kill_switch.reason}; "
            "entries blocked until an admin resets it or the next UTC day",
        )
    tripped = breach(limits, entry.equity, entry.day_start_equity, entry.peak_equity)
    if tripped is not None:
        return tripped
    if account.leverage > limits.max_leverage:
        return Refusal(
            "max_leverage",
            f"account leverage {account.leverage}x is above the limit {limits.max_leverage}x",
        )
    if entry.last_entry is not None and limits.cooldown_s > 0:
        since = (entry.time - entry.last_entry) / 1000
        if since < limits.cooldown_s:
            return Refusal(
                "cooldown",
                f"last entry on {entry.symbol} was {since:g}s ago (cooldown {limits.cooldown_s}s)",
            )
    if entry.open_positions >= limits.max_open_positions:
        return Refusal(
            "max_open_positions",
            f"{entry.open_positions} positions open or opening (limit {limits.max_open_positions})",
        )
    if entry.quantity <= 0:
        return Refusal("zero_quantity", f"sizing gives no quantity (equity {entry.equity:.2f})")
    if filters.min_qty is not None and entry.quantity < filters.min_qty:
        return Refusal(
            "min_qty", f"quantity {entry.quantity} is below the minimum {filters.min_qty}"
        )
    notional = entry.quantity * entry.price
    if filters.min_notional is not None and notional < filters.min_notional:
        return Refusal(
            "min_notional",
            f"notional {notional:.8f} is below the exchange minimum {filters.min_notional}",
        )
    cap = limits.max_position_notional
    if cap is not None and notional > cap:
        return Refusal("max_position_notional", f"notional {notional:.2f} is above the limit {cap}")
    return bracket_refusal(entry.symbol, notional, account.leverage)


def bracket_refusal(symbol: str, notional: Decimal, leverage: int) -> Refusal | None:
    """Refuse a leverage above the highest the venue allows for a position of ``notional``
    (Binance's notional brackets, the default table of :mod:`kwont_quant.brackets`): the
    notional may reach the cap of the last bracket allowing ``leverage``, as the backtest
    engine's cap with ``margin_tiers``."""
    table = default_table(symbol)
    if table is None:
        return None
    allowed = table.max_notional(leverage)
    if notional <= allowed:
        return None
    bracket = table.for_notional(notional)
    if bracket is None:
        top = table.brackets[-1].notional_cap
        return Refusal(
            "bracket_leverage",
            f"notional {notional:.2f} is above {symbol}'s largest bracket (cap {top})",
        )
    return Refusal(
        "bracket_leverage",
        f"leverage {leverage}x is above the {bracket.initial_leverage}x {symbol}'s bracket "
        f"{bracket.bracket} allows for a notional of {notional:.2f} (at {leverage}x at most "
        f"{allowed}); lower the leverage or the size",
    )
