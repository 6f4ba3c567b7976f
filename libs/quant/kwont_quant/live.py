"""The engine's trading rules, one bar at a time, for the live services.

The backtest engine (:mod:`kwont_quant._kernels_engine`) applies these rules inside its
compiled loop; live trading applies them across services (strategy -> risk -> execution).
Both follow the same rules so a replay through the pipeline trades like ``kwont backtest``;
``tests/libs/quant/test_live.py`` steps a history through these functions and checks the
trades equal the engine's.

Sides are ``+1`` (long / BUY) and ``-1`` (short / SELL). Rates are fractions (10 bps =
0.001). Prices are floats here: they are market data; the services book the results as
Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kwont_quant.brackets import default_table
from kwont_quant.signals import BarSignal

Action = Literal["enter_long", "enter_short", "exit"]
ExitSide = Literal["long", "short"] | None
ExitReason = Literal["stop_loss", "take_profit", "liquidation"]


@dataclass(frozen=True)
class Intent:
    """What one closed candle asks for, without knowing the position.

    ``enter_long``: close a short if one is open, then go long if flat. ``enter_short``:
    the mirror. ``exit``: close the position on ``exit_side`` (None: whichever is open).
    """

    action: Action
    exit_side: ExitSide = None


def intent(bar: BarSignal, allow_short: bool = True) -> Intent | None:
    """The engine's reading of one bar's four flags (exits first, then entries when flat;
    opposite entries on one bar cancel out)."""
    el, xl = bar.enter_long, bar.exit_long
    es, xs = allow_short and bar.enter_short, bar.exit_short
    want = 1 if (el and not xl) else 0
    if es and not xs:
        want = -1 if want == 0 else 0
    if want == 1:
        return Intent("enter_long")
    if want == -1:
        return Intent("enter_short")
    close_long = xl or es
    close_short = xs or el
    if close_long and close_short:
        return Intent("exit")
    if close_long:
        return Intent("exit", "long")
    if close_short:
        return Intent("exit", "short")
    return None


def closes(action: Action, exit_side: ExitSide, position_side: int) -> bool:
    """Whether a signal closes an open position of ``position_side`` (+1/-1)."""
    if position_side == 0:
        return False
    if action == "enter_long":
        return position_side == -1
    if action == "enter_short":
        return position_side == 1
    return exit_side is None or (exit_side == "long") == (position_side == 1)


def opens(action: Action) -> int:
    """The side a signal opens when flat (0 for an exit)."""
    return {"enter_long": 1, "enter_short": -1}.get(action, 0)


def market_price(side: int, price: float, slippage: float) -> float:
    """Fill price of a market order of ``side`` (+1 buy, -1 sell) at ``price``."""
    return price * (1.0 + side * slippage)


def entry_quantity(
    cash: float,
    fill_price: float,
    fee: float,
    leverage: float,
    fraction: float,
    size: float = 1.0,
) -> float:
    """Fraction sizing: ``fraction x size`` of the largest quantity whose margin plus entry
    fee fits ``cash``."""
    cap = cash * leverage / (fill_price * (1.0 + fee * leverage))
    return cap * fraction * size


def risk_quantity(
    equity: float,
    fill_price: float,
    stop_price: float,
    risk_fraction: float,
    fee: float,
    leverage: float,
) -> float:
    """Risk sizing: lose ``risk_fraction`` of equity if the stop is hit, capped by what the
    equity can carry."""
    distance = abs(fill_price - stop_price)
    cap = entry_quantity(equity, fill_price, fee, leverage, 1.0)
    if distance <= 0.0:
        return cap
    return min(equity * risk_fraction / distance, cap)


def stop_levels(
    side: int, fill_price: float, sl_pct: float | None, tp_pct: float | None
) -> tuple[float | None, float | None]:
    """Stop-loss and take-profit prices anchored at the entry fill price."""
    sl = fill_price * (1.0 - side * sl_pct) if sl_pct else None
    tp = fill_price * (1.0 + side * tp_pct) if tp_pct else None
    return sl, tp


def liquidation_price(side: int, fill_price: float, leverage: float, mmr: float) -> float:
    """Isolated margin: where the loss eats the margin down to the maintenance margin
    (0 for an unlevered long: it cannot be liquidated)."""
    if side == 1:
        return fill_price * (1.0 - 1.0 / leverage) / (1.0 - mmr)
    return fill_price * (1.0 + 1.0 / leverage) / (1.0 + mmr)


def position_liquidation(
    side: int,
    qty: float,
    fill_price: float,
    leverage: float,
    mmr: float,
    symbol: str,
    tiers: bool,
) -> float:
    """The liquidation price of an isolated position: by ``symbol``'s notional bracket
    (:mod:`kwont_quant.brackets`) when ``tiers`` and the symbol has a table, else the flat
    ``mmr`` of :func:`liquidation_price` (as the engine with ``margin_tiers`` off)."""
    table = default_table(symbol) if tiers else None
    if table is None:
        return liquidation_price(side, fill_price, leverage, mmr)
    return table.liquidation(side, qty, fill_price, leverage)


def protective_exit(
    side: int,
    o: float,
    h: float,
    lo: float,
    sl: float | None,
    tp: float | None,
    liq: float,
    slippage: float,
) -> tuple[float, ExitReason] | None:
    """The exit a bar triggers for an open position, the worse outcome first; None if the
    bar leaves it open. Gaps through a stop fill at the open (with slippage); a
    take-profit fills at its price (or the better open)."""
    nan = float("nan")
    s = nan if sl is None else sl
    t = nan if tp is None else tp
    if side == 1:
        if o <= liq:
            return liq, "liquidation"
        if o <= s:
            return o * (1.0 - slippage), "stop_loss"
        if o >= t:
            return o, "take_profit"
        if lo <= liq and not (lo <= s and s > liq):
            return liq, "liquidation"
        if lo <= s:
            return s * (1.0 - slippage), "stop_loss"
        if h >= t:
            return t, "take_profit"
        return None
    if o >= liq:
        return liq, "liquidation"
    if o >= s:
        return o * (1.0 + slippage), "stop_loss"
    if o <= t:
        return o, "take_profit"
    if h >= liq and not (h >= s and s < liq):
        return liq, "liquidation"
    if h >= s:
        return s * (1.0 + slippage), "stop_loss"
    if lo <= t:
        return t, "take_profit"
    return None
