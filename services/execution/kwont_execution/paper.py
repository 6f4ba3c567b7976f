"""The paper venue's fill rules as pure functions: an order against the position, and a
closed candle against the position's stops. No I/O; the rules follow ``kwont_quant.live``
(the backtest engine's rules bar by bar); prices and fees come from the paper fill model
and the rounding rule of :mod:`kwont_common.trading.exchange` (risk predicts fills with
the same functions), money is booked as Decimal.

An outcome is the events to publish (fills, order-updates) and the position after it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

from kwont_common.events import Event, Fill, Order, OrderUpdate
from kwont_common.events.fields import Side
from kwont_common.events.fills import ExitReason
from kwont_common.events.order_updates import OrderStatus
from kwont_common.trading import exchange, ids
from kwont_common.trading.accounts import AccountConfig
from kwont_common.trading.exchange import NO_FILTERS, Priced, SymbolFilters
from kwont_execution.paper_position import Bar, Position
from kwont_ohlcv import INTERVAL_MS
from kwont_quant import live

VENUE = "paper"
SOURCE = "execution"


@dataclass(frozen=True)
class Outcome:
    """What handling an order or a candle did: events to publish (in order) and the
    position after it (``changed`` False: the position is untouched)."""

    events: list[Event]
    position: Position | None
    changed: bool = True


def side_of(order_side: str) -> int:
    """1 for a ``BUY`` order, -1 for a ``SELL``."""
    return 1 if order_side == "BUY" else -1


def candle_close_time(interval: str, open_time: int) -> int:
    """Close time (Binance kline: last millisecond) of a candle."""
    return open_time + INTERVAL_MS[interval] - 1


def market_price(order: Order, tick: tuple[int, float] | None) -> tuple[float, int] | None:
    """The market price a market order fills against and the time it fills at: the latest
    tick if it is newer than the signal candle's close, else the order's reference price
    (that close). None when there is no price at all."""
    price, at = order.reference_price, order.event_time
    if tick is not None:
        known = order.interval is not None and order.candle_open_time is not None
        newer = known and tick[0] > candle_close_time(order.interval, order.candle_open_time)  # type: ignore[arg-type]
        if newer or price is None:
            price, at = tick[1], max(at, tick[0])
    if price is None:
        return None
    return price, at


def execute(
    order: Order,
    position: Position | None,
    price: tuple[float, int] | None,
    account: AccountConfig,
    filters: SymbolFilters = NO_FILTERS,
) -> Outcome:
    """Fill or reject a market order against ``position`` (None: flat) at market ``price``
    (from :func:`market_price`) by the paper fill model
    (:func:`kwont_common.trading.exchange.market_fill`)."""
    if order.order_type != "MARKET":
        return _reject(order, position, "the paper venue fills MARKET orders only")
    if order.reduce_only:
        return _reduce(order, position, price, account, filters)
    if position is not None:
        held = "long" if position.side == 1 else "short"
        return _reject(order, position, f"a {held} position of {position.quantity} is open")
    if price is None:
        return _reject(order, None, "no price: no reference_price and no tick seen")
    if order.interval is None or order.candle_open_time is None:
        return _reject(order, None, "an entry needs interval and candle_open_time (stops)")
    market, at = price
    side = side_of(order.side)
    made = _market_fill(side, market, order.quantity, account, filters)
    sl, tp = (_opt(level) for level in exchange.protective_levels(
        side, made.price, order.stop_loss_pct, order.take_profit_pct, order.stop_loss,
        order.take_profit, filters.tick_size,
    ))  # fmt: skip
    px = float(made.price)
    opened = Position(
        account=order.account,
        symbol=order.symbol,
        side=side,
        quantity=order.quantity,
        entry_price=made.price,
        stop_loss=sl,
        take_profit=tp,
        liquidation=live.position_liquidation(
            side,
            float(order.quantity),
            px,
            order.leverage,
            account.maintenance_margin,
            order.symbol,
            account.margin_tiers,
        ),
        interval=order.interval,
        checked_through=order.candle_open_time,
        correlation_id=order.correlation_id,
        entry_order=order.client_order_id,
        sl_order=ids.client_order_id(order.signal_id, "sl"),
        tp_order=ids.client_order_id(order.signal_id, "tp"),
        leverage=order.leverage,
        opened_at=at,
    )
    fill = _fill(opened, order.client_order_id, order.side, order.quantity, made, at, account)
    events: list[Event] = [fill, _update(fill, "FILLED")]
    for leg, level in ((opened.sl_order, sl), (opened.tp_order, tp)):
        if level is not None:
            events.append(_leg_update(opened, leg, "NEW", at))
    return Outcome(events, opened)


def protect(
    position: Position, bar: Bar, account: AccountConfig, filters: SymbolFilters = NO_FILTERS
) -> Outcome | None:
    """The protective exit ``bar`` triggers (worse outcome first), or None. Its price (the
    engine's, slippage in it) goes on the tick against the taker."""
    hit = live.protective_exit(
        position.side,
        bar.open,
        bar.high,
        bar.low,
        position.stop_loss,
        position.take_profit,
        position.liquidation,
        account.slippage_rate,
    )
    if hit is None:
        return None
    px, reason = hit
    leg = position.tp_order if reason == "take_profit" else position.sl_order
    exit_side: Side = "SELL" if position.side == 1 else "BUY"
    made = exchange.settle(-position.side, exchange.to_decimal(px), position.quantity,
                           _rates(account), filters.tick_size)  # fmt: skip
    fill = _fill(position, leg, exit_side, position.quantity, made, bar.close_time, account,
                 reason)  # fmt: skip
    events: list[Event] = [fill, _update(fill, "FILLED")]
    events += _cancel_legs(position, bar.close_time, keep=leg)
    return Outcome(events, None)


def _reduce(
    order: Order,
    position: Position | None,
    price: tuple[float, int] | None,
    account: AccountConfig,
    filters: SymbolFilters,
) -> Outcome:
    if position is None:
        return _reject(order, None, "reduce-only order with no open position")
    if side_of(order.side) == position.side:
        held = "long" if position.side == 1 else "short"
        return _reject(order, position, f"reduce-only {order.side} cannot reduce a {held}")
    if price is None:
        return _reject(order, position, "no price: no reference_price and no tick seen")
    market, at = price
    qty = min(order.quantity, position.quantity)
    made = _market_fill(side_of(order.side), market, qty, account, filters)
    coid, corr = order.client_order_id, order.correlation_id
    fill = _fill(position, coid, order.side, qty, made, at, account, "signal", corr)
    events: list[Event] = [fill, _update(fill, "FILLED")]
    left = position.quantity - qty
    if left > 0:
        return Outcome(events, replace(position, quantity=left))
    return Outcome(events + _cancel_legs(position, at, keep=None), None)


def _reject(order: Order, position: Position | None, reason: str) -> Outcome:
    update = OrderUpdate(
        **order.lineage(),
        event_id=ids.event_id(VENUE, "order-update", order.client_order_id, "REJECTED"),
        source=SOURCE,
        client_order_id=order.client_order_id,
        venue=VENUE,
        status="REJECTED",
        filled_quantity=Decimal(0),
        reason=reason,
    )
    return Outcome([update], position, changed=False)


def _fill(
    position: Position,
    client_order_id: str,
    side: Side,
    quantity: Decimal,
    made: Priced,
    at: int,
    account: AccountConfig,
    exit_reason: ExitReason | None = None,
    correlation: uuid.UUID | None = None,
) -> Fill:
    """A fill of ``client_order_id``. A reduce-only signal exit carries its own order's
    correlation id (the exit signal); entries and protective exits the position's."""
    trade_id = f"{VENUE}-{client_order_id}"
    return Fill(
        event_id=ids.event_id(VENUE, "fill", trade_id),
        event_time=at,
        source=SOURCE,
        account=position.account,
        symbol=position.symbol,
        correlation_id=correlation or position.correlation_id,
        client_order_id=client_order_id,
        venue=VENUE,
        trade_id=trade_id,
        side=side,
        quantity=quantity,
        price=made.price,
        fee=made.fee,
        fee_asset=account.asset,
        reduce_only=exit_reason is not None,
        exit_reason=exit_reason,
    )


def _update(fill: Fill, status: OrderStatus) -> OrderUpdate:
    return OrderUpdate(
        **fill.lineage(),
        event_id=ids.event_id(VENUE, "order-update", fill.client_order_id, status),
        source=SOURCE,
        client_order_id=fill.client_order_id,
        venue=VENUE,
        status=status,
        filled_quantity=fill.quantity,
        average_price=fill.price,
        reason=fill.exit_reason,
    )


def _leg_update(position: Position, leg: str, status: OrderStatus, at: int) -> OrderUpdate:
    return OrderUpdate(
        event_id=ids.event_id(VENUE, "order-update", leg, status),
        event_time=at,
        source=SOURCE,
        account=position.account,
        symbol=position.symbol,
        correlation_id=position.correlation_id,
        client_order_id=leg,
        venue=VENUE,
        status=status,
        filled_quantity=Decimal(0),
    )


def _cancel_legs(position: Position, at: int, keep: str | None) -> list[Event]:
    """CANCELED for the protective legs still resting (a paper OCO: one fires, the sibling
    goes)."""
    legs = ((position.sl_order, position.stop_loss), (position.tp_order, position.take_profit))
    return [
        _leg_update(position, leg, "CANCELED", at)
        for leg, level in legs
        if level is not None and leg != keep
    ]


def _rates(account: AccountConfig) -> exchange.Rates:
    return exchange.Rates.of(account.fee_rate, account.slippage_rate)


def _market_fill(
    side: int, market: float, quantity: Decimal, account: AccountConfig, filters: SymbolFilters
) -> Priced:
    return exchange.market_fill(side, market, quantity, _rates(account), filters.tick_size)


def _opt(x: Decimal | None) -> float | None:
    return None if x is None else float(x)
