"""One suite for every venue (kwont_execution.venue): the same order gives the same report
on the paper venue (its real order path, over candles stored in MongoDB) and on the Binance
venue (python-binance against the local USD-M futures stand-in, user-data stream
followed): fills at the market on the tick, in full, with the fee of the account's rate;
the order's FILLED update; the protective legs opened and cancelled; a refused order as one
REJECTED update with a reason and no fill; a copy placing nothing new.

The paper account has no slippage and the stand-in's taker fee, and the stand-in's price
is the stored candle's close, so both venues must report the same numbers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient

from kwont_common.events import Event, Fill, Order, OrderUpdate
from kwont_common.kafka.inputs import entering
from kwont_common.state import PartitionStore
from kwont_common.testing import candle
from kwont_common.trading import ids
from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_execution.account_cache import AccountCache
from kwont_execution.binance_sync import follow, open_binance_venue
from kwont_execution.paper_book import Book, dump, load
from kwont_execution.paper_venue import PaperVenue
from kwont_execution.ticks import LastTicks
from kwont_execution.venue import Report, Venue
from kwont_execution.write_behind import WriteBehind
from kwont_marketdata import store as candle_store
from kwont_ohlcv import COLUMNS
from tests.services.execution.binance_futures_server import BinanceFutures, futures_symbol
from tests.services.marketdata.vendors import serve

pytestmark = pytest.mark.integration

ACCOUNT, SYMBOL, MIN = "acct-v", "BTCUSDT", 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000 + 600 * MIN
TICK, STEP, FEE = Decimal("0.1"), Decimal("0.001"), Decimal("0.0004")
CLOSES = {T0: Decimal("42017.3"), T0 + MIN: Decimal("42050.1"), T0 + 2 * MIN: Decimal("42101.7")}
VENUES = ("paper", "binance")


def order(venue: str, side: str, t: int, leg: str = "e", **kw: Any) -> Order:
    """Risk's order for a signal on the candle opening at ``t``, at that candle's close."""
    signal = ids.signal_id("dep-v", SYMBOL, "1m", t)
    fields: dict[str, Any] = {
        "event_time": t + MIN - 1, "source": "risk", "account": ACCOUNT, "symbol": SYMBOL,
        "correlation_id": signal, "client_order_id": ids.client_order_id(signal, leg),
        "signal_id": signal, "venue": venue, "side": side, "quantity": Decimal("0.010"),
        "reference_price": float(CLOSES[t]), "interval": "1m", "candle_open_time": t,
        "leverage": 3, "reduce_only": leg == "x",
    }  # fmt: skip
    if leg == "e":
        fields |= {"stop_loss_pct": 0.02, "take_profit_pct": 0.04}
    return Order.model_validate(fields | kw)


@dataclass
class Under:
    """A venue under test: its name, the venue, and how to move its market to a close."""

    name: str
    venue: Venue
    market: Callable[[Decimal], Awaitable[None]]
    placed: Callable[[], int]  # orders that reached the market (a copy must add none)

    async def place(self, o: Order) -> Report:
        await self.market(CLOSES[cast(int, o.candle_open_time)])
        return await self.venue.place(o)


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri, tz_aware=True)
    database = client[mongo_db]
    await save_account(database, AccountConfig(account=ACCOUNT, fee_bps=4, slippage_bps=0))
    await database.symbols.insert_one({"_id": SYMBOL, "filters": {
        "tick_size": str(TICK), "step_size": str(STEP), "min_qty": str(STEP), "min_notional": "5",
    }})  # fmt: skip
    await database.deployments.insert_one({"_id": "dep-v", "account": ACCOUNT, "owner": "alice"})
    candles = [candle(symbol=SYMBOL, open_time=t, open=float(c) - 3, high=float(c) + 5,
                      low=float(c) - 5, close=float(c)) for t, c in CLOSES.items()]  # fmt: skip
    cols = {n: np.array([float(getattr(c, n)) for c in candles]) for n in COLUMNS}
    await candle_store.upsert(database, SYMBOL, "1m", cols, feed="synthetic")
    yield database
    await client.close()


async def _paper(db: Any) -> AsyncIterator[Under]:
    store: PartitionStore[Book] = PartitionStore(db.execution_state, "g", new=Book, dump=dump,
                                                 load=load)  # fmt: skip
    await store.assign([TopicPartition("orders", 0)])

    async def no_publish(events: list[Event]) -> None:
        raise AssertionError(f"the paper order path leaves publishing to the caller: {events}")

    venue = PaperVenue(db, db, AccountCache(db, 60), LastTicks(SimpleNamespace()), store,
                       WriteBehind(db, store), no_publish)  # fmt: skip
    offsets = iter(range(1_000_000))

    class OnOrders:
        """The paper venue as the ``orders`` consumer calls it (one input per order)."""

        async def place(self, o: Order) -> Report:
            entering(cast(Any, SimpleNamespace(topic="orders", partition=0, offset=next(offsets))))
            return await venue.place(o)

    async def still(_: Decimal) -> None:  # the paper market is the order's candle
        return None

    answered = store.state(0).answered
    yield Under("paper", OnOrders(), still, lambda: len(answered))


async def _binance(db: Any) -> AsyncIterator[Under]:
    exchange = BinanceFutures(price={SYMBOL: CLOSES[T0]},
                              symbols=[futures_symbol(SYMBOL, "0.10", "0.001")])  # fmt: skip
    async with serve(exchange.app()) as url:
        settings = SimpleNamespace(
            binance_api_key="test-key", binance_api_secret="test-secret",
            binance_futures_url=f"{url}/fapi",
            binance_futures_stream_url=f"{url.replace('http', 'ws')}/",
            binance_fill_timeout_s=3.0,
        )  # fmt: skip

        async def published(events: list[Event]) -> None:
            return None

        venue = await open_binance_venue(settings, db, published)
        stop = asyncio.Event()
        task = asyncio.create_task(follow(venue, stop))
        try:
            yield Under("binance", venue, lambda p: exchange.move(SYMBOL, p),
                        lambda: len(exchange.placed("/fapi/v1/order")))  # fmt: skip
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await venue.close()


@pytest.fixture(params=VENUES)
async def under(request: pytest.FixtureRequest, db: Any) -> AsyncIterator[Under]:
    make = _paper if request.param == "paper" else _binance
    async for made in make(db):
        yield made


def shape(report: Report) -> list[tuple[str, str, str | None]]:
    return [
        (type(e).__name__, getattr(e, "client_order_id", ""),
         e.status if isinstance(e, OrderUpdate) else None)
        for e in report.events
    ]  # fmt: skip


def check_fill(report: Report, o: Order, venue: str) -> Fill:
    """The order's one fill: in full, at the market of its candle, fee at the rate, on the
    tick and step; and its FILLED update says the same."""
    [fill] = [e for e in report.events if isinstance(e, Fill)]
    price = CLOSES[cast(int, o.candle_open_time)]
    assert (fill.venue, fill.side, fill.quantity, fill.price) == (venue, o.side, o.quantity, price)
    assert fill.fee == price * o.quantity * FEE
    assert fill.price % TICK == 0 and fill.quantity % STEP == 0
    assert fill.reduce_only == o.reduce_only
    assert fill.exit_reason == ("signal" if o.reduce_only else None)
    [done] = [e for e in report.events if isinstance(e, OrderUpdate)
              and e.client_order_id == o.client_order_id]  # fmt: skip
    assert (done.status, done.filled_quantity, done.average_price) == ("FILLED", o.quantity, price)
    return fill


@pytest.mark.parametrize("side", ["BUY", "SELL"])
async def test_an_entry_fills_in_full_at_the_market_and_opens_both_legs(
    under: Under, side: str
) -> None:
    entry = order(under.name, side, T0)
    report = await under.place(entry)
    sl, tp = (ids.client_order_id(entry.signal_id, leg) for leg in ("sl", "tp"))
    coid = entry.client_order_id
    assert shape(report) == [
        ("Fill", coid, None), ("OrderUpdate", coid, "FILLED"),
        ("OrderUpdate", sl, "NEW"), ("OrderUpdate", tp, "NEW"),
    ]  # fmt: skip
    check_fill(report, entry, under.name)
    assert report.publish in ((), report.events)  # the caller publishes all of it or none


async def test_an_exit_closes_in_full_and_cancels_the_legs_left(under: Under) -> None:
    entry = order(under.name, "BUY", T0)
    await under.place(entry)
    close = order(under.name, "SELL", T0 + 2 * MIN, leg="x")
    report = await under.place(close)
    coid = close.client_order_id
    sl, tp = (ids.client_order_id(entry.signal_id, leg) for leg in ("sl", "tp"))
    assert shape(report)[:2] == [("Fill", coid, None), ("OrderUpdate", coid, "FILLED")]
    assert sorted(shape(report)[2:]) == [("OrderUpdate", sl, "CANCELED"),
                                         ("OrderUpdate", tp, "CANCELED")]  # fmt: skip
    check_fill(report, close, under.name)


async def test_a_reduce_only_order_with_nothing_open_is_one_rejection_with_a_reason(
    under: Under,
) -> None:
    close = order(under.name, "SELL", T0 + MIN, leg="x")
    report = await under.place(close)
    [rejected] = report.events
    assert isinstance(rejected, OrderUpdate)
    assert (rejected.client_order_id, rejected.status, rejected.filled_quantity) == (
        close.client_order_id, "REJECTED", 0
    )  # fmt: skip
    assert rejected.reason and rejected.venue == under.name
    again = await under.place(close)  # a copy: the same answer at most, never a fill
    assert {e.event_id for e in again.events} <= {rejected.event_id}


async def test_a_copy_of_an_order_places_nothing_new(under: Under) -> None:
    entry = order(under.name, "BUY", T0)
    first = await under.place(entry)
    before = under.placed()
    again = await under.place(entry)
    assert under.placed() == before
    assert {e.event_id for e in again.events} <= {e.event_id for e in first.events}
