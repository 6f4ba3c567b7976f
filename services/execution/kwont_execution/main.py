"""Wiring and lifecycle of the execution service.

- ``orders`` (group ``kwont-execution``, co-partitioned): dispatched on ``order.venue``;
  ``paper`` to the paper venue, ``binance`` to the Binance venue when ``binance_enabled``
  (else REJECTED); the paper positions of the owned partitions live in memory
  (``PartitionStore``, snapshots in ``execution_state``), their outcomes written behind;
- ``candles`` (no group, from the start, every replica): the owned paper positions'
  stop-loss / take-profit / liquidation checks;
- ``funding`` (no group, from the start, every replica): funding paid by the owned paper
  positions, published to ``funding-payments`` (:mod:`kwont_execution.paper_funding`);
- ``ticks`` (no group, from the end): the latest price per symbol for paper fills.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from kwont_common.events import Event, Order, OrderUpdate
from kwont_common.kafka import EventConsumer
from kwont_common.kafka.consumer import HandlerResult
from kwont_common.service import Runtime, Task, Wiring, run_service
from kwont_common.state import PartitionStore
from kwont_common.trading import ids
from kwont_common.trading.credentials import Keyring
from kwont_execution import audit, paper_book
from kwont_execution.account_cache import AccountCache
from kwont_execution.paper_venue import PaperVenue
from kwont_execution.settings import ExecutionSettings
from kwont_execution.ticks import LastTicks
from kwont_execution.venue import Venue
from kwont_execution.write_behind import WriteBehind

log = logging.getLogger(__name__)


def disabled_venue(order: Order) -> OrderUpdate:
    """The answer to an order for a venue this service does not route to."""
    return OrderUpdate(
        **order.lineage(),
        event_id=ids.event_id(order.venue, "order-update", order.client_order_id, "REJECTED"),
        source="execution",
        client_order_id=order.client_order_id,
        venue=order.venue,
        status="REJECTED",
        filled_quantity=Decimal(0),
        reason=f"venue {order.venue} is not enabled on this execution service "
        f"(KWONT_{order.venue.upper()}_ENABLED=false)",
    )


def dispatcher(
    venues: dict[str, Venue], behind: WriteBehind, accounts: AccountCache
) -> Callable[[Order], Awaitable[HandlerResult]]:
    """The ``orders`` handler: each order to its venue; what its report leaves to the caller
    is published."""

    async def on_order(order: Order) -> HandlerResult:
        venue = venues.get(order.venue)
        if venue is not None:
            report = await venue.place(order)
            return list(report.publish)
        rejection = disabled_venue(order)
        _, owner = await accounts.get(order.account)
        behind.outcome([rejection], owner, order, f"{order.venue}:{order.client_order_id}",
                       order.model_dump(mode="json"), venue=order.venue)  # fmt: skip
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
    await audit.ensure_indexes(db)
    accounts = AccountCache(db, settings.account_cache_ttl_s)
    ticks = LastTicks(settings)

    async def publish(events: list[Event]) -> None:
        for event in events:
            await runtime.producer.publish(event)

    store: PartitionStore[paper_book.Book] = PartitionStore(
        db[paper_book.COLLECTION], settings.group_id, new=paper_book.Book,
        dump=paper_book.dump, load=paper_book.load,
    )  # fmt: skip
    behind = WriteBehind(db, store)
    paper = PaperVenue(db, market, accounts, ticks, store, behind, publish,
                       settings.stop_gate_wait_s)  # fmt: skip
    venues: dict[str, Venue] = {"paper": paper}
    on_stop: list[Callable[[], Awaitable[None]]] = []
    tasks: list[Task] = []
    if settings.binance_enabled:
        from kwont_execution.binance_accounts import BinanceAccounts
        from kwont_execution.binance_client import BinanceVenueSettings
        from kwont_execution.binance_sync import (  # type: ignore[import-not-found,unused-ignore]
            follow,
            open_binance_venue,
        )

        operator = None
        operator_key = settings.binance_api_key
        if operator_key is not None and operator_key.get_secret_value():  # the operator's own
            operator = await open_binance_venue(settings, db, publish)
            on_stop.append(operator.close)

            async def follow_binance(stop: asyncio.Event) -> None:
                assert operator is not None
                await follow(operator, stop)

            tasks.append(follow_binance)
        keys = settings.credentials_keys
        keyring = Keyring.of(keys.get_secret_value() if keys else None,
                             settings.credentials_keys_file)  # fmt: skip
        binance = BinanceAccounts(
            BinanceVenueSettings.of(settings), db, publish, accounts, keyring,
            settings.binance_operator_account, operator,
        )  # fmt: skip
        venues["binance"] = binance
        on_stop.append(binance.close)
    # Orders of different account:SYMBOL keys side by side (one pair's in order): an order
    # waiting on its venue holds up only its own pair.
    orders = EventConsumer(
        settings, runtime.producer, {"orders": dispatcher(venues, behind, accounts)},
        concurrency=settings.consumer_concurrency,
        fetch_max_wait_ms=settings.kafka_fast_fetch_max_wait_ms,  # the last hop to a fill
        on_assigned=paper.assigned, on_revoked=paper.revoked, on_handled=behind.handled,
    )  # fmt: skip
    runtime.health.add_check("consumer", lambda: orders.running)

    async def run_orders(stop: asyncio.Event) -> None:
        await store.start()
        try:
            await orders.run(stop)
        finally:
            await behind.written()
            await store.stop()

    async def follow_candles(stop: asyncio.Event) -> None:
        await paper.follow_candles(settings, stop)

    async def follow_funding(stop: asyncio.Event) -> None:
        await paper.follow_funding(settings, stop)

    tasks += [run_orders, behind.run, follow_candles, follow_funding, paper.revisit_held]
    if settings.paper_ticks:
        tasks.append(ticks.run)
    return Wiring(tasks=tasks, on_stop=on_stop)


def run() -> None:
    """Console script ``kwont-execution``."""
    run_service("execution", setup, ExecutionSettings)
