"""The Binance venue driven through python-binance against a local server that speaks the
USD-M futures REST and user-data formats (tests/services/execution/binance_futures_server.py),
with a real MongoDB. Events the venue publishes are collected by a plain function."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_common.events import Event, Fill, Order, OrderUpdate
from kwont_common.trading import ids
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_execution import binance_claims as claims
from kwont_execution import binance_reports as reports
from kwont_execution.binance_sync import follow, open_binance_venue
from kwont_execution.binance_venue import BinanceVenue
from tests.services.execution.binance_futures_server import BinanceFutures
from tests.services.marketdata.vendors import serve

pytestmark = pytest.mark.integration

ACCOUNT, SYMBOL = "acct-bn", "BTCUSDT"
ORDER_PATH, ALGO_PATH = "/fapi/v1/order", "/fapi/v1/algoOrder"


async def until(check: Callable[[], Any], timeout: float = 5.0) -> None:
    """Wait for ``check()`` to become true (the user-data stream is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def entry(n: int = 1, **over: Any) -> Order:
    signal = ids.signal_id("dep-bn", SYMBOL, "1m", 1_700_000_000_000 + n * 60_000)
    fields: dict[str, Any] = {
        "event_time": 1_700_000_000_000, "source": "risk", "account": ACCOUNT,
        "symbol": SYMBOL, "correlation_id": signal, "signal_id": signal,
        "client_order_id": ids.client_order_id(signal, "e"), "venue": "binance",
        "side": "BUY", "quantity": Decimal("0.010"), "leverage": 3,
        "stop_loss_pct": 0.02, "take_profit_pct": 0.04,
    }  # fmt: skip
    return Order.model_validate({**fields, **over})


def exit_of(n: int = 2, side: str = "SELL", quantity: str = "0.010") -> Order:
    signal = ids.signal_id("dep-bn", SYMBOL, "1m", 1_700_000_000_000 + n * 60_000)
    return entry(n, signal_id=signal, correlation_id=signal, side=side, reduce_only=True,
                 client_order_id=ids.client_order_id(signal, "x"), quantity=Decimal(quantity),
                 stop_loss_pct=None, take_profit_pct=None)  # fmt: skip


class Harness:
    """The exchange, the database, what was published, and a way to (re)start the venue."""

    def __init__(self, exchange: BinanceFutures, url: str, db: Any) -> None:
        self.exchange, self.url, self.db = exchange, url, db
        self.published: list[Event] = []
        self.settings = SimpleNamespace(
            binance_api_key="test-key", binance_api_secret="test-secret",
            binance_futures_url=f"{url}/fapi",
            binance_futures_stream_url=f"{url.replace('http', 'ws')}/",
            binance_fill_timeout_s=3.0,
        )  # fmt: skip

    async def publish(self, events: list[Event]) -> None:
        self.published.extend(events)

    def fills(self, coid: str | None = None) -> list[Fill]:
        return [e for e in self.published if isinstance(e, Fill)
                and coid in (None, e.client_order_id)]  # fmt: skip

    def updates(self, coid: str) -> list[str]:
        return [e.status for e in self.published
                if isinstance(e, OrderUpdate) and e.client_order_id == coid]  # fmt: skip

    @asynccontextmanager
    async def venue(self) -> AsyncIterator[BinanceVenue]:
        """A started venue following the user-data stream; stopped and closed on exit."""
        venue = await open_binance_venue(self.settings, self.db, self.publish)
        stop = asyncio.Event()
        before = len(self.exchange.sockets)
        task = asyncio.create_task(follow(venue, stop))
        try:
            await until(lambda: len(self.exchange.sockets) > before)
            yield venue
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await venue.close()
            await until(lambda: len(self.exchange.sockets) == before)


@pytest.fixture
async def harness(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Harness]:
    exchange = BinanceFutures(price={SYMBOL: Decimal("42000.3")})
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri, tz_aware=True)
    db = client[mongo_db]
    await db.deployments.insert_one({"_id": "dep-bn", "account": ACCOUNT, "owner": "alice"})
    async with serve(exchange.app()) as url:
        yield Harness(exchange, url, db)
    await client.close()


Run = Callable[[Harness], Awaitable[None]]


async def test_entry_places_one_market_order_and_two_reduce_only_exits(harness: Harness) -> None:
    order = entry()
    async with harness.venue() as venue:
        await venue.handle(order)
        await until(lambda: len(harness.updates(ids.client_order_id(order.signal_id, "tp"))) > 0)

    ex = harness.exchange
    assert ex.leverage[SYMBOL] == 3 and ex.margin_type[SYMBOL] == "ISOLATED"
    [market] = ex.placed(ORDER_PATH)
    assert {k: market[k] for k in ("symbol", "side", "type", "quantity", "newClientOrderId")} == {
        "symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": "0.010",
        "newClientOrderId": order.client_order_id,
    }  # fmt: skip
    assert "reduceOnly" not in market
    stop, take = ex.placed(ALGO_PATH)
    # 42000.3 * (1 - 0.02) = 41160.294 and * (1 + 0.04) = 43680.312, on a 0.10 tick.
    sl_id, tp_id = (ids.client_order_id(order.signal_id, leg) for leg in ("sl", "tp"))
    assert (stop["type"], stop["side"], stop["triggerPrice"], stop["quantity"]) == (
        "STOP_MARKET",
        "SELL",
        "41160.3",
        "0.01",
    )
    assert (take["type"], take["side"], take["triggerPrice"], take["quantity"]) == (
        "TAKE_PROFIT_MARKET",
        "SELL",
        "43680.3",
        "0.01",
    )
    assert stop["reduceOnly"] == take["reduceOnly"] == "true"
    assert (stop["clientAlgoId"], take["clientAlgoId"]) == (sl_id, tp_id)

    [fill] = harness.fills()
    trade = ex.trades[0]
    assert fill.trade_id == str(trade["id"]) and fill.client_order_id == order.client_order_id
    assert (fill.price, fill.quantity, fill.fee) == (Decimal("42000.3"), Decimal("0.01"),
                                                     Decimal("0.168001200"))  # fmt: skip
    assert fill.correlation_id == order.correlation_id and fill.exit_reason is None
    assert fill.event_id == ids.event_id("binance", trade["id"])
    # The stream may report NEW before the REST answer says FILLED; never the other way.
    assert harness.updates(order.client_order_id) in (["FILLED"], ["NEW", "FILLED"])
    assert harness.updates(sl_id) == harness.updates(tp_id) == ["NEW"]
    assert len({e.event_id for e in harness.published}) == len(harness.published)

    stored = await harness.db.fills.find_one({"_id": f"binance:{trade['id']}"})
    assert stored["owner"] == "alice" and stored["price"] == "42000.3"
    row = await harness.db.orders.find_one({"_id": order.client_order_id})
    assert row["status"] == "FILLED" and row["owner"] == "alice"
    assert (await harness.db.orders.find_one({"_id": sl_id}))["status"] == "NEW"


async def test_a_redelivered_order_places_nothing_and_republishes_its_outcome(
    harness: Harness,
) -> None:
    order = entry()
    async with harness.venue() as venue:
        await venue.handle(order)
        first = list(harness.published)
        requests = len(harness.exchange.requests)
        harness.published.clear()
        await venue.handle(order)  # the same message again
    async with harness.venue() as venue:  # and once more after a restart
        await venue.handle(order)

    assert len(harness.exchange.placed(ORDER_PATH)) == 1
    assert len(harness.exchange.placed(ALGO_PATH)) == 2
    assert not [r for r in harness.exchange.requests[requests:] if r[0] == "POST"
                and r[1] in (ORDER_PATH, ALGO_PATH, "/fapi/v1/leverage")]  # fmt: skip
    again = {e.event_id for e in harness.published}
    assert {e.event_id for e in first if isinstance(e, Fill)} <= again
    entry_filled = [e for e in first if isinstance(e, OrderUpdate) and e.status == "FILLED"]
    assert {e.event_id for e in entry_filled} <= again
    assert await harness.db.fills.count_documents({}) == 1


async def test_a_triggered_stop_is_a_stop_loss_fill_and_cancels_the_take_profit(
    harness: Harness,
) -> None:
    order = entry()
    sl_id, tp_id = (ids.client_order_id(order.signal_id, leg) for leg in ("sl", "tp"))
    async with harness.venue() as venue:
        await venue.handle(order)
        await until(lambda: "NEW" in harness.updates(tp_id))
        await harness.exchange.move(SYMBOL, "41100")
        await until(lambda: "CANCELED" in harness.updates(tp_id))

    [stop_fill] = harness.fills(sl_id)
    assert stop_fill.exit_reason == "stop_loss" and stop_fill.reduce_only
    assert (stop_fill.side, stop_fill.price, stop_fill.quantity) == ("SELL", Decimal(41100),
                                                                     Decimal("0.01"))  # fmt: skip
    assert stop_fill.correlation_id == order.correlation_id
    assert stop_fill.trade_id == str(harness.exchange.trades[-1]["id"])
    assert harness.updates(sl_id)[-1] == "FILLED"
    [tp] = [a for a in harness.exchange.algo_orders.values() if a["clientAlgoId"] == tp_id]
    assert tp["algoStatus"] == "CANCELED"
    assert harness.exchange.positions[SYMBOL][0] == 0
    assert (await harness.db.orders.find_one({"_id": tp_id}))["status"] == "CANCELED"


async def test_a_restart_reconciles_open_orders_and_what_happened_while_down(
    harness: Harness,
) -> None:
    order = entry()
    sl_id, tp_id = (ids.client_order_id(order.signal_id, leg) for leg in ("sl", "tp"))
    async with harness.venue() as venue:
        await venue.handle(order)

    async with harness.venue():  # nothing happened meanwhile: open orders and position recorded
        opened = await harness.db.binance_open_orders.find({}).to_list(None)
        assert sorted(o["clientAlgoId"] for o in opened) == sorted([sl_id, tp_id])
        position = await harness.db.binance_positions.find_one({"_id": SYMBOL})
        assert Decimal(position["amount"]) == Decimal("0.01")

    published = len(harness.published)
    await harness.exchange.move(SYMBOL, "43700")  # the take-profit fires while nobody listens
    assert not harness.exchange.sockets
    async with harness.venue():
        pass
    news = harness.published[published:]
    [tp_fill] = [e for e in news if isinstance(e, Fill)]
    assert (tp_fill.client_order_id, tp_fill.exit_reason, tp_fill.price) == (
        tp_id,
        "take_profit",
        Decimal(43700),
    )
    assert harness.updates(sl_id)[-1] == "CANCELED"
    assert not harness.exchange.open_algo()
    assert await harness.db.binance_open_orders.count_documents({}) == 0
    assert await harness.db.binance_positions.count_documents({}) == 0


async def test_an_exit_closes_with_a_reduce_only_market_order_and_cancels_both_exits(
    harness: Harness,
) -> None:
    order, close = entry(), exit_of()
    sl_id, tp_id = (ids.client_order_id(order.signal_id, leg) for leg in ("sl", "tp"))
    async with harness.venue() as venue:
        await venue.handle(order)
        await venue.handle(close)
        await venue.handle(exit_of(3))  # nothing left to close: refused, not placed twice

    _, market, refused_post = harness.exchange.placed(ORDER_PATH)
    assert len(harness.exchange.orders) == 2  # the third was refused by the exchange
    assert refused_post["newClientOrderId"] == exit_of(3).client_order_id
    assert (market["side"], market["reduceOnly"], market["newClientOrderId"]) == (
        "SELL",
        "true",
        close.client_order_id,
    )
    [closing] = harness.fills(close.client_order_id)
    assert closing.exit_reason == "signal" and closing.reduce_only
    assert harness.updates(sl_id)[-1] == harness.updates(tp_id)[-1] == "CANCELED"
    refused = [e for e in harness.published if isinstance(e, OrderUpdate)
               and e.client_order_id == exit_of(3).client_order_id]  # fmt: skip
    assert [e.status for e in refused] == ["REJECTED"]
    assert refused[0].reason is not None and "-2022" in refused[0].reason
    assert harness.exchange.positions[SYMBOL][0] == 0


async def test_every_request_and_answer_is_audited_without_the_signature(
    harness: Harness,
) -> None:
    order = entry()
    async with harness.venue() as venue:
        await venue.handle(order)
        await venue.handle(order)
    audit = await harness.db.execution_audit.find({}).to_list(None)
    seen = Counter((r[0], r[1]) for r in harness.exchange.requests)
    assert Counter((a["request"]["method"], a["request"]["path"]) for a in audit) == seen
    assert all(a["venue"] == "binance" and "signature" not in a["request"]["params"]
               for a in audit)  # fmt: skip
    assert all("test-secret" not in str(a) for a in audit)
    [placed] = [a for a in audit if (a["request"]["method"], a["request"]["path"]) == (
        "POST", ORDER_PATH)]  # fmt: skip
    assert placed["account"] == ACCOUNT and placed["client_order_id"] == order.client_order_id
    assert placed["correlation_id"] == str(order.correlation_id) and placed["symbol"] == SYMBOL
    assert placed["request"]["params"]["newClientOrderId"] == order.client_order_id
    assert placed["response"]["status"] == 200
    assert placed["response"]["body"]["status"] == "FILLED"
    # A refusal is audited with Binance's error answer.
    [margin] = [a for a in audit if a["request"]["path"] == "/fapi/v1/marginType"]
    assert margin["response"]["status"] == 200
    async with harness.venue() as venue:
        await venue.handle(exit_of(2))
        await venue.handle(exit_of(3))
    audit = await harness.db.execution_audit.find({}).to_list(None)
    [refused] = [a for a in audit if a["client_order_id"] == exit_of(3).client_order_id
                 and a["request"]["path"] == ORDER_PATH]  # fmt: skip
    assert refused["response"] == {"status": 400, "body": {
        "code": -2022, "msg": "ReduceOnly Order is rejected."}}  # fmt: skip


async def test_the_stream_reconnects_after_the_exchange_drops_it(harness: Harness) -> None:
    order = entry()
    sl_id = ids.client_order_id(order.signal_id, "sl")
    async with harness.venue() as venue:
        await venue.handle(order)
        await harness.exchange.drop_streams()
        await until(lambda: not harness.exchange.sockets)
        await until(lambda: len(harness.exchange.sockets) == 1, timeout=8)
        await harness.exchange.move(SYMBOL, "41000")
        await until(lambda: len(harness.fills(sl_id)) == 1)
    assert harness.fills(sl_id)[0].exit_reason == "stop_loss"
    assert uuid.UUID(str(harness.fills(sl_id)[0].correlation_id)) == order.correlation_id


async def test_an_order_claimed_but_never_sent_is_placed_once_on_redelivery(
    harness: Harness,
) -> None:
    order = entry()
    # A crash between the claim and the request: the claim exists, the exchange knows nothing.
    doc = claims.new_claim(order, order.client_order_id, "e", "market", "BUY", order.quantity,
                           reduce_only=False)  # fmt: skip
    assert (await claims.claim(harness.db, doc))[0]
    async with harness.venue() as venue:
        await venue.handle(order)
    assert len(harness.exchange.placed(ORDER_PATH)) == 1
    assert len(harness.exchange.placed(ALGO_PATH)) == 2
    # one fill; the user-data stream may report it again (the same event: consumers drop it)
    fills = harness.fills(order.client_order_id)
    assert len({(f.event_id, f.trade_id, f.price, f.quantity) for f in fills}) == 1


async def test_a_stop_the_market_is_already_through_closes_at_once(harness: Harness) -> None:
    # Absolute levels: a long whose stop is above the fill would trigger immediately.
    order = entry(stop_loss_pct=None, take_profit_pct=None, stop_loss=Decimal("42100"),
                  take_profit=Decimal("44000"))  # fmt: skip
    sl_id = ids.client_order_id(order.signal_id, "sl")
    async with harness.venue() as venue:
        await venue.handle(order)
    stop, take = harness.exchange.placed(ALGO_PATH)
    assert (stop["triggerPrice"], take["triggerPrice"]) == ("42100", "44000")
    [closing] = harness.fills(sl_id)
    assert closing.exit_reason == "stop_loss" and closing.price == Decimal("42000.3")
    market_ids = [p["newClientOrderId"] for p in harness.exchange.placed(ORDER_PATH)]
    assert market_ids == [order.client_order_id, sl_id]
    assert harness.exchange.positions[SYMBOL][0] == 0


async def test_a_status_the_stream_stored_first_is_also_published_first(
    harness: Harness,
) -> None:
    """The REST answer and the user-data stream report the same order from two tasks. Seen
    in CI: the stream stored NEW, the REST path stored and published FILLED while the
    stream was still on its way to publishing, and NEW went out after FILLED."""
    order = entry()
    claim = claims.new_claim(order, order.client_order_id, "e", "market", "BUY",
                             order.quantity, reduce_only=False)  # fmt: skip
    published: list[str] = []

    async def slow_publish(events: list[Event]) -> None:
        for e in events:
            if isinstance(e, OrderUpdate) and e.status == "NEW":
                await asyncio.sleep(0.3)  # the stream's publish is the slower one
            published.append(getattr(e, "status", ""))

    venue = BinanceVenue(None, harness.settings, harness.db, slow_publish)  # type: ignore[arg-type]
    new = reports.order_update(claim, "NEW")
    filled = reports.order_update(claim, "FILLED", order.quantity, "42000.3")

    async def rest_answer() -> None:
        await asyncio.sleep(0.05)  # after the stream stored NEW
        await venue.emit([filled])

    await asyncio.gather(venue.emit([new]), rest_answer())
    assert published == ["NEW", "FILLED"]
    stored = await harness.db.orders.find_one({"_id": order.client_order_id})
    assert stored["status"] == "FILLED"
