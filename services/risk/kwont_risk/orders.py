"""The events risk publishes, built from the signal (pure; deterministic ids).

Every order and rejection of a signal has an id derived from it, so deciding the same signal
twice yields the same events and downstream consumers drop the copy.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from kwont_common.events import Fill, Order, RiskRejection, Signal
from kwont_common.trading import exchange, ids
from kwont_common.trading.accounts import AccountConfig
from kwont_common.trading.exchange import NO_FILTERS, SymbolFilters
from kwont_risk import sizing

SOURCE = "risk"


def _side(side: int) -> str:
    return "BUY" if side == 1 else "SELL"


def _order(
    signal: Signal, leg: str, side: int, quantity: Decimal, leverage: int, **stops: object
) -> Order:
    coid = ids.client_order_id(signal.event_id, leg)
    return Order(
        **signal.lineage(),
        event_id=ids.event_id(coid),
        source=SOURCE,
        client_order_id=coid,
        signal_id=signal.event_id,
        venue=signal.venue,
        side=_side(side),
        quantity=quantity,
        reduce_only=leg == "x",
        leverage=leverage,
        reference_price=signal.reference_price,
        interval=signal.interval,
        candle_open_time=signal.candle_open_time,
        **stops,
    )


def closing_order(signal: Signal, position_side: int, quantity: Decimal, leverage: int) -> Order:
    """The reduce-only order (leg ``x``) that closes a position of ``position_side``."""
    return _order(signal, "x", -position_side, quantity, leverage)


def entry_order(
    signal: Signal, side: int, quantity: Decimal, leverage: int, filters: SymbolFilters
) -> Order:
    """The entry order (leg ``e``) with the signal's stops; absolute levels on the tick by
    the rounding rule (toward the entry: kwont_common.trading.exchange)."""
    tick = filters.tick_size

    def level(value: float | None, rounding: exchange.Rounding) -> Decimal | None:
        return None if value is None else rounding(side, exchange.to_decimal(value), tick)

    return _order(
        signal, "e", side, quantity, leverage,
        stop_loss=level(signal.stop_loss, exchange.round_stop),
        take_profit=level(signal.take_profit, exchange.round_take_profit),
        stop_loss_pct=signal.stop_loss_pct, take_profit_pct=signal.take_profit_pct,
    )  # fmt: skip


def paper_fill(
    order: Order, account: AccountConfig, filters: SymbolFilters = NO_FILTERS
) -> Fill | None:
    """The fill the paper venue gives market ``order`` when no tick is newer than its
    candle: :func:`kwont_common.trading.exchange.market_fill` at its reference price, at
    its event time (kwont_execution.paper makes it with the same function). Never
    published: risk decides on it ahead of the venue. None without a reference price."""
    if order.reference_price is None:
        return None
    side = 1 if order.side == "BUY" else -1
    made = exchange.market_fill(
        side, order.reference_price, order.quantity, sizing.rates(account), filters.tick_size
    )
    return Fill(
        **order.lineage(), source=SOURCE,
        client_order_id=order.client_order_id, venue=order.venue,
        trade_id=f"expected-{order.client_order_id}", side=order.side,
        quantity=order.quantity, price=made.price, fee=made.fee,
        reduce_only=order.reduce_only,
    )  # fmt: skip


def rejection_id(signal: Signal) -> uuid.UUID:
    """The event id of the signal's rejection (a signal is refused at most once)."""
    return ids.event_id("risk-rejection", signal.event_id)


def rejection(signal: Signal, code: str, reason: str) -> RiskRejection:
    """The refusal of ``signal`` (one per signal: its id is derived from the signal's)."""
    return RiskRejection(
        **signal.lineage(),
        event_id=rejection_id(signal),
        source=SOURCE,
        signal_id=signal.event_id,
        code=code,
        reason=reason,
    )
