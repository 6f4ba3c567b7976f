"""Wiring and lifecycle of the execution service.

- ``orders`` (group ``kwont-execution``): dispatched on ``order.venue``; ``paper`` to the
  paper venue, ``binance`` to the Binance venue when ``binance_enabled`` (else REJECTED);
- ``candles`` (group ``kwont-execution-stops``, a second consumer): the paper positions'
  stop-loss / take-profit / liquidation checks;
- ``ticks`` (no group, from the end): the latest price per symbol for paper fills.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from kwont_common.events import Event, Order, OrderUpdate
from kwont_common.kafka import EventConsumer
from kwont_common.kafka.consumer import HandlerResult
from kwont_common.mongo import Database
from kwont_common.service import Runtime, Task, Wiring, run_service
from kwont_common.trading import ids
from kwont_execution import audit, outcomes, store
from kwont_execution.account_cache import AccountCache
from kwont_execution.paper_venue import PaperVenue
from kwont_execution.settings import ExecutionSettings
from kwont_execution.ticks import LastTicks

log = logging.getLogger(__name__)
Venue = Callable[[Order], Awaitable[Any]]


def disabled_venue(order: Order) -> OrderUpdate:
    """The answer to an order for a venue this service does not route to."""
    return OrderUpdate(
        event_id=ids.event_id(order.venue, "order-update", order.client_order_id, "REJECTED"),
        event_time=order.event_time,
        source="execution",
        account=order.account,
        symbol=order.symbol,
        correlation_id=order.correlation_id,
        client_order_id=order.client_order_id,
        venue=order.venue,
        status="REJECTED",
        filled_quantity=Decimal(0),
        reason=f"venue {order.venue} is not enabled on this execution service "
        f"(KWONT_{order.venue.upper()}_ENABLED=false)",
    )


def dispatcher(
    venues: dict[str, Venue], db: Database, accounts: AccountCache
) -> Callable[[Order], Awaitable[HandlerResult]]:
    """The ``orders`` handler: each order to its venue; what a venue returns is published."""

    async def on_order(order: Order) -> HandlerResult:
        venue = venues.get(order.venue)
        if venue is not None:
            result: HandlerResult = await venue(order)
            return result
        rejection = disabled_venue(order)
        _, owner = await accounts.get(order.account)
        await outcomes.store(db, [rejection], owner, order)
        return rejection

    return on_order


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    settings = runtime.settings
    assert isinstance(settings, ExecutionSettings)
    mongo = await runtime.mongo()
    db = mongo.write
    # Stored candles are read from the primary: a lagging secondary could miss the candle
    # marketdata just stored and published.
    market = mongo.market_write
    await asyncio.gather(store.ensure_indexes(db), audit.ensure_indexes(db))
    accounts = AccountCache(db, settings.account_cache_ttl_s)
    ticks = LastTicks(settings)

    async def publish(events: list[Event]) -> None:
        for event in events:
            await runtime.producer.publish(event)

    paper = PaperVenue(db, market, accounts, ticks, settings.stop_gate_wait_s, publish)
    venues: dict[str, Venue] = {"paper": paper.handle}
    tasks: list[Task] = []
    on_stop: list[Callable[[], Awaitable[None]]] = []
    if settings.binance_enabled:
        from kwont_execution.binance_sync import (  # type: ignore[import-not-found,unused-ignore]
            follow,
            open_binance_venue,
        )

        binance = await open_binance_venue(settings, db, publish)
        venues["binance"] = binance.handle

        async def follow_binance(stop: asyncio.Event) -> None:
            await follow(binance, stop)

        tasks.append(follow_binance)
        on_stop.append(binance.close)
    stops = EventConsumer(
        settings, runtime.producer, {"candles": paper.on_candle},
        group_id=settings.stops_group_id,  # one at a time: 16 at once starved the orders
        # an order's catch-up does not wait for the stop consumer (paper_venue.py); a stop
        # fills at its candle's prices whenever the candle is read
        fetch_max_wait_ms=settings.kafka_background_fetch_max_wait_ms,
    )  # fmt: skip
    runtime.health.add_check("stops-consumer", lambda: stops.running)
    tasks += [stops.run, paper.flush_checks, paper.revisit_held]
    if settings.paper_ticks:
        tasks.append(ticks.run)
    # Orders of different account:SYMBOL keys side by side (one pair's in order): an order
    # waiting on its venue or the database holds up only its own pair.
    return Wiring(
        handlers={"orders": dispatcher(venues, db, accounts)}, tasks=tasks, on_stop=on_stop,
        concurrency=settings.consumer_concurrency, fast_fetch=True,  # the last hop to a fill
    )  # fmt: skip


def run() -> None:
    """Console script ``kwont-execution``."""
    run_service("execution", setup, ExecutionSettings)
