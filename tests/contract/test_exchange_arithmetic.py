"""One exchange arithmetic across services (kwont_common.trading.exchange): for the same order
and account, risk's predicted fill is the paper venue's fill to the last digit, and every
price and quantity risk, the paper venue and the Binance venue make is on the symbol's tick
and step by the rounding rule (quantities down; fills against the taker; protective levels
toward the entry). The venues run their real code paths: the paper venue on MongoDB, the
Binance venue through python-binance against the local futures stand-in."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient

from kwont_common.events import Event, Fill, Order, Signal
from kwont_common.kafka import Input
from kwont_common.state import PartitionStore
from kwont_common.trading.accounts import AccountConfig, Sizing, save_account
from kwont_common.trading.exchange import SymbolFilters
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_execution.account_cache import AccountCache
from kwont_execution.binance_sync import follow, open_binance_venue
from kwont_execution.paper_book import Book, dump, load
from kwont_execution.paper_venue import PaperVenue
from kwont_execution.ticks import LastTicks
from kwont_execution.write_behind import WriteBehind
from kwont_risk import orders, sizing
from kwont_risk.accounts import Directory
from tests.services.execution.binance_futures_server import BinanceFutures, futures_symbol
from tests.services.marketdata.vendors import serve

pytestmark = pytest.mark.contract

SYMBOL, TICK, STEP = "BTCUSDT", Decimal("0.1"), Decimal("0.001")
MIN, T0 = 60_000, 1_700_000_000_000 - 1_700_000_000_000 % 60_000
REFERENCE = 42017.37  # off the tick: the fill model must put it on
SL_PCT, TP_PCT = 0.0107, 0.0214  # levels whose nearest tick is on the other side of the rule
SLIP = Decimal("0.0003")
ACCOUNT = AccountConfig(account="acct-x", fee_bps=7.5, slippage_bps=3, leverage=2,
                        sizing=Sizing(mode="risk", value=0.02))  # fmt: skip
FILTERS_DOC = {"tick_size": "0.1", "step_size": "0.001", "min_qty": "0.001", "min_notional": "5"}
SIDES = pytest.mark.parametrize("side", [1, -1], ids=["long", "short"])


def signal(action: str, t: int, venue: str, **kw: Any) -> Signal:
    sid = uuid.uuid4()
    return Signal(
        event_id=sid, correlation_id=sid, event_time=t, source="test", account=ACCOUNT.account,
        symbol=SYMBOL, deployment_id="dep-x", strategy="s", interval="1m", action=action,
        candle_open_time=t - MIN, reference_price=REFERENCE, venue=venue, **kw,
    )  # fmt: skip


def entry_signal(side: int, venue: str, **kw: Any) -> Signal:
    action = "enter_long" if side == 1 else "enter_short"
    return signal(action, T0, venue, stop_loss_pct=SL_PCT, take_profit_pct=TP_PCT, **kw)


def risk_entry(sig: Signal, side: int, filters: SymbolFilters) -> Order:
    """The entry risk's gate makes of ``sig`` (its sizing, quantity and order functions)."""
    raw = sizing.raw_quantity(ACCOUNT, sig, side, float(ACCOUNT.cash), filters)
    quantity = sizing.quantity(raw, filters.step_size)
    return orders.entry_order(sig, side, quantity, ACCOUNT.leverage, filters)


def on_grid(value: Decimal, unit: Decimal) -> bool:
    return value % unit == 0


def by_rule(made: Decimal, raw: Decimal, up: bool) -> bool:
    """``made`` is ``raw`` moved to the next tick multiple ``up`` (or down), or ``raw``."""
    moved = made - raw if up else raw - made
    return on_grid(made, TICK) and Decimal(0) <= moved < TICK


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> Any:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri, tz_aware=True)
    database = client[mongo_db]
    await save_account(database, ACCOUNT)
    await database.symbols.insert_one({"_id": SYMBOL, "filters": FILTERS_DOC})
    await database.deployments.insert_one({"_id": "dep-x", "account": ACCOUNT.account,
                                           "owner": "alice"})  # fmt: skip
    yield database
    await client.close()


async def _no_publish(events: list[Event]) -> None:
    raise AssertionError(f"the order path returns its events, it publishes none: {events}")


@SIDES
async def test_risk_predicts_the_paper_fill_to_the_last_digit_on_the_tick(
    db: Any, side: int
) -> None:
    filters = await Directory(db, 60).filters(SYMBOL)
    assert filters == SymbolFilters(TICK, STEP, STEP, Decimal(5))
    store: PartitionStore[Book] = PartitionStore(db.execution_state, "g", new=Book, dump=dump,
                                                 load=load)  # fmt: skip
    await store.assign([TopicPartition("orders", 0)])
    accounts, ticks = AccountCache(db, 60), LastTicks(SimpleNamespace())
    venue = PaperVenue(db, db, accounts, ticks, store, WriteBehind(db, store), _no_publish)
    entry = risk_entry(entry_signal(side, "paper"), side, filters)
    assert entry.quantity > 0 and on_grid(entry.quantity, STEP)

    flip = signal("exit", T0 + 5 * MIN, "paper")
    closing = orders.closing_order(flip, side, entry.quantity, ACCOUNT.leverage)
    for offset, order in enumerate((entry, closing)):
        predicted = orders.paper_fill(order, ACCOUNT, filters)
        made_events = await venue.handle_at(Input("orders", 0, offset), order)
        [fill] = [e for e in made_events if isinstance(e, Fill)]
        assert predicted is not None
        for name in ("side", "quantity", "price", "fee", "event_time", "reduce_only"):
            made, expected = getattr(fill, name), getattr(predicted, name)
            assert (made, str(made)) == (expected, str(expected)), name
        taker = 1 if order.side == "BUY" else -1
        raw = Decimal(repr(REFERENCE)) * (1 + taker * SLIP)
        assert not on_grid(raw, TICK)
        assert by_rule(fill.price, raw, up=taker == 1), (fill.price, raw)  # against the taker
        if order is entry:
            record = store.state(0).get(f"{ACCOUNT.account}:{SYMBOL}")
            assert record is not None and record.position.entry_price == fill.price
            position = record.position
            sl, tp = Decimal(repr(position.stop_loss)), Decimal(repr(position.take_profit))
            raw_sl = fill.price * (1 - side * Decimal(repr(SL_PCT)))
            raw_tp = fill.price * (1 + side * Decimal(repr(TP_PCT)))
            assert by_rule(sl, raw_sl, up=side == 1), (sl, raw_sl)  # never widens the risk
            assert by_rule(tp, raw_tp, up=side != 1), (tp, raw_tp)


@SIDES
def test_risk_puts_absolute_levels_on_the_tick_toward_the_entry(side: int) -> None:
    filters = SymbolFilters.from_doc({"filters": FILTERS_DOC})
    stop, take = (41_500.04, 42_900.07) if side == 1 else (42_500.04, 41_100.07)
    sig = signal("enter_long" if side == 1 else "enter_short", T0, "paper",
                 stop_loss=stop, take_profit=take)  # fmt: skip
    entry = risk_entry(sig, side, filters)
    assert entry.stop_loss is not None and entry.take_profit is not None
    assert by_rule(entry.stop_loss, Decimal(repr(stop)), up=side == 1), entry.stop_loss
    assert by_rule(entry.take_profit, Decimal(repr(take)), up=side != 1), entry.take_profit
    assert on_grid(entry.quantity, STEP)


@SIDES
async def test_the_binance_venue_sends_risk_quantities_and_levels_by_the_rule(
    db: Any, side: int
) -> None:
    fill_price = Decimal("42017.3")
    exchange = BinanceFutures(price={SYMBOL: fill_price},
                              symbols=[futures_symbol(SYMBOL, "0.10", "0.001")])  # fmt: skip
    filters = await Directory(db, 60).filters(SYMBOL)
    entry = risk_entry(entry_signal(side, "binance"), side, filters)
    published: list[Any] = []

    async def publish(events: list[Any]) -> None:
        published.extend(events)

    async with serve(exchange.app()) as url:
        settings = SimpleNamespace(
            binance_api_key="test-key", binance_api_secret="test-secret",
            binance_futures_url=f"{url}/fapi",
            binance_futures_stream_url=f"{url.replace('http', 'ws')}/",
            binance_fill_timeout_s=3.0,
        )  # fmt: skip
        venue = await open_binance_venue(settings, db, publish)
        stop = asyncio.Event()
        task = asyncio.create_task(follow(venue, stop))
        try:
            await venue.handle(entry)
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await venue.close()

    [market] = exchange.placed("/fapi/v1/order")
    assert Decimal(market["quantity"]) == entry.quantity and on_grid(entry.quantity, STEP)
    levels = {a["type"]: Decimal(a["triggerPrice"]) for a in exchange.placed("/fapi/v1/algoOrder")}
    raw_sl = fill_price * (1 - side * Decimal(repr(SL_PCT)))
    raw_tp = fill_price * (1 + side * Decimal(repr(TP_PCT)))
    assert by_rule(levels["STOP_MARKET"], raw_sl, up=side == 1), (levels, raw_sl)
    assert by_rule(levels["TAKE_PROFIT_MARKET"], raw_tp, up=side != 1), (levels, raw_tp)
    [fill] = [e for e in published if isinstance(e, Fill)]
    assert fill.price == fill_price and fill.quantity == entry.quantity
