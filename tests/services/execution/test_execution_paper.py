"""The execution service in-process on the real broker and MongoDB, paper venue: entries
fill at the engine's price and fee, candles trigger the stops at the engine's price, the
arrival order of candles and orders does not change the outcome, a redelivered order
places nothing new, refusals are answered and garbage is dead-lettered."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from pymongo import AsyncMongoClient

from kwont_common.events import Candle, DeadLetter, Event, Fill, Order, OrderUpdate, Tick
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.metrics import MESSAGES_CONSUMED, MESSAGES_FAILED
from kwont_common.testing import candle, read_topic, service_settings, serving
from kwont_common.trading import exchange, ids
from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_execution.main import setup
from kwont_execution.settings import ExecutionSettings
from kwont_marketdata import store as candle_store
from kwont_ohlcv import COLUMNS
from kwont_quant import live

pytestmark = pytest.mark.integration
MIN = 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000 + 600 * MIN
FEE_BPS, SLIP_BPS, MMR = 10.0, 5.0, 0.004
SLIP, FEE = SLIP_BPS / 10_000, FEE_BPS / 10_000


def make_settings(bootstrap: str, mongo_uri: str, database: str, **kw: Any) -> ExecutionSettings:
    fields: dict[str, Any] = {"mongo_market_database": database} | kw
    return service_settings(
        ExecutionSettings, "execution", bootstrap, mongo_uri, database, **fields
    )


@pytest.fixture
def settings(kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str) -> ExecutionSettings:
    return make_settings(kafka_bootstrap, mongo.app_uri, mongo_db)


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    try:
        yield client[mongo_db]
    finally:
        await client.close()


async def prepare(settings: ExecutionSettings, db: Any, account: str = "acct-1") -> None:
    """Topics, the account's fee model and an owner (a deployment naming the account)."""
    await ensure_topics(settings)
    cfg = AccountConfig(account=account, fee_bps=FEE_BPS, slippage_bps=SLIP_BPS)
    await save_account(db, cfg.model_copy(update={"maintenance_margin": MMR}))
    await db.deployments.insert_one({"_id": f"dep-{account}", "account": account, "owner": "alice"})


def running(settings: ExecutionSettings) -> AbstractAsyncContextManager[None]:
    """The service, served in this event loop until the block ends (then exit code 0)."""
    return serving(settings, setup)


async def send(
    settings: ExecutionSettings, *events: Event, raw: list[tuple[str, bytes]] | None = None
) -> None:
    producer = EventProducer(settings)
    await producer.start()
    try:
        for name, value in raw or []:
            await producer.send_raw(f"{settings.topic_prefix}{name}", b"acct-1:BTCUSDT", value)
        for event in events:
            await producer.publish(event)
    finally:
        await producer.stop()


def entry(side: str = "BUY", t: int = T0, account: str = "acct-1", **kw: Any) -> Order:
    """Risk's order for a signal on the candle opening at ``t``."""
    signal = ids.signal_id("dep-1", kw.get("symbol", "BTCUSDT"), "1m", t)
    leg = "x" if kw.get("reduce_only") else "e"
    fields: dict[str, Any] = {
        "event_time": t + MIN - 1, "source": "risk", "account": account, "symbol": "BTCUSDT",
        "correlation_id": signal, "client_order_id": ids.client_order_id(signal, leg),
        "signal_id": signal, "venue": "paper", "side": side, "quantity": Decimal("0.5"),
        "reference_price": 100.0, "interval": "1m", "candle_open_time": t,
        "stop_loss_pct": 0.02, "take_profit_pct": 0.03, "leverage": 5,
    }  # fmt: skip
    fields.update(kw)
    return Order.model_validate(fields)


def bar(t: int, o: float, h: float, lo: float, c: float, symbol: str = "BTCUSDT") -> Candle:
    return candle(symbol=symbol, open_time=t, open=o, high=h, low=lo, close=c)


async def store_candles(db: Any, *candles: Candle) -> None:
    """What marketdata does before publishing: the candles into the ohlcv buckets."""
    by_symbol: dict[str, list[Candle]] = {}
    for c in candles:
        by_symbol.setdefault(c.symbol, []).append(c)
    for symbol, cs in by_symbol.items():
        cols = {
            name: np.array([float(getattr(c, name)) for c in cs], dtype=np.float64)
            for name in COLUMNS
        }
        await candle_store.upsert(db, symbol, "1m", cols, feed="synthetic")


def expected_entry(
    side: int, ref: float = 100.0
) -> tuple[float, float | None, float | None, float]:
    """Fill price, stop-loss, take-profit and liquidation of an entry by the engine's rules,
    in Decimal as the paper fill model computes them (no tick: nothing rounded)."""
    rates = exchange.Rates.of(FEE, SLIP)
    fill = exchange.market_fill(side, ref, Decimal(0), rates, None).price
    sl, tp = exchange.protective_levels(side, fill, 0.02, 0.03, None, None, None)
    assert sl is not None and tp is not None
    px = float(fill)
    return px, float(sl), float(tp), live.liquidation_price(side, px, 5, MMR)


def same(a: Event, b: Event) -> bool:
    """Whether two copies are the same event: every field but ``produced_at`` (when that
    copy was made: a replay makes the event again, from the same input)."""
    return a.model_dump(exclude={"produced_at"}) == b.model_dump(exclude={"produced_at"})


def dec(x: float) -> Decimal:
    return Decimal(repr(x))


async def until(condition: Callable[[], Any], timeout: float = 20) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.02)


async def fills_on_topic(settings: ExecutionSettings, count: int) -> list[Fill]:
    raw = await read_topic(settings.kafka_bootstrap_servers, f"{settings.topic_prefix}fills", count)
    return [Fill.model_validate_json(v) for v in raw]


async def updates_on_topic(settings: ExecutionSettings, count: int) -> list[OrderUpdate]:
    topic = f"{settings.topic_prefix}order-updates"
    raw = await read_topic(settings.kafka_bootstrap_servers, topic, count)
    return [OrderUpdate.model_validate_json(v) for v in raw]


async def stops_consumed(settings: ExecutionSettings, count: int) -> bool:
    """Whether the service (in this process) has read ``count`` candles."""
    counter = MESSAGES_CONSUMED.labels("execution", f"{settings.topic_prefix}candles")
    return bool(counter._value.get() >= count)


async def positions(db: Any, settings: ExecutionSettings) -> dict[str, dict[str, Any]]:
    """The open paper positions in the snapshots of the ``orders`` partitions."""
    docs = db.execution_state.find({"_id": {"$regex": f"^{settings.group_id}:"}})
    return {p["key"]: p async for d in docs for p in d["state"]["positions"]}


async def test_entry_fills_at_the_engine_price_and_a_later_candle_hits_the_stop(
    settings: ExecutionSettings, db: Any
) -> None:
    await prepare(settings, db)
    order = entry("BUY")
    px, sl, tp, liq = expected_entry(1)
    quiet, falling = (
        bar(T0 + MIN, 100.1, 100.6, 99.4, 100.0),
        bar(T0 + 2 * MIN, 99.0, 99.2, 96.0, 97.0),
    )
    hit = live.protective_exit(1, falling.open, falling.high, falling.low, sl, tp, liq, SLIP)
    assert hit is not None and hit[1] == "stop_loss"
    assert live.protective_exit(1, quiet.open, quiet.high, quiet.low, sl, tp, liq, SLIP) is None
    async with running(settings):
        await send(settings, order)
        doc = await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
        assert Decimal(doc["price"]) == dec(px) and doc["owner"] == "alice"
        assert Decimal(doc["fee"]) == Decimal("0.5") * dec(px) * dec(FEE)
        assert doc["_id"] == f"paper:paper-{order.client_order_id}"
        await store_candles(db, quiet, falling)
        await send(settings, quiet, falling)
        sl_leg = ids.client_order_id(order.signal_id, "sl")
        out = await until(lambda: db.fills.find_one({"client_order_id": sl_leg}))
        await send(settings, falling)  # a redelivered candle: the position is gone, nothing
        fills = await fills_on_topic(settings, 3)
        updates = await updates_on_topic(settings, 5)
    assert out["exit_reason"] == "stop_loss" and Decimal(out["price"]) == dec(hit[0])
    assert out["side"] == "SELL" and out["reduce_only"] is True
    assert out["event_time"] == falling.close_time and out["correlation_id"] == str(order.signal_id)
    # the stop's exit re-publishes the entry first (same event: a book never sees an exit
    # before its entry)
    assert [(f.client_order_id, f.exit_reason) for f in fills] == [
        (order.client_order_id, None),
        (order.client_order_id, None),
        (sl_leg, "stop_loss"),
    ]
    assert fills[0] == fills[1]
    assert await db.fills.count_documents({}) == 2
    assert all(
        f.key() == "acct-1:BTCUSDT" and f.correlation_id == order.correlation_id for f in fills
    )
    tp_leg = ids.client_order_id(order.signal_id, "tp")
    assert [(u.client_order_id, u.status) for u in updates] == [
        (order.client_order_id, "FILLED"), (sl_leg, "NEW"), (tp_leg, "NEW"),
        (sl_leg, "FILLED"), (tp_leg, "CANCELED"),
    ]  # fmt: skip
    statuses = {d["_id"]: (d["status"], d["owner"]) async for d in db.orders.find()}
    assert statuses == {
        order.client_order_id: ("FILLED", "alice"),
        sl_leg: ("FILLED", "alice"),
        tp_leg: ("CANCELED", "alice"),
    }
    assert await positions(db, settings) == {}  # closed (the snapshot at the stop)
    audits = [a async for a in db.execution_audit.find().sort("time", 1)]
    assert [a["client_order_id"] for a in audits] == [order.client_order_id, sl_leg]
    assert audits[0]["request"]["client_order_id"] == order.client_order_id
    assert audits[0]["venue"] == "paper" and audits[1]["request"]["candle"]["low"] == falling.low


async def store_signal(db: Any, t: int, action: str, status: str = "running") -> None:
    """What the strategy stores for deployment dep-1's signal on the candle opening at ``t``
    (and the deployment, with ``status``, on its first signal)."""
    await db.deployments.update_one(
        {"_id": "dep-1"},
        {"$setOnInsert": {"account": "acct-1", "owner": "alice", "status": status}},
        upsert=True,
    )
    await db.signals.insert_one({
        "_id": str(ids.signal_id("dep-1", "BTCUSDT", "1m", t)), "deployment_id": "dep-1",
        "account": "acct-1", "symbol": "BTCUSDT", "interval": "1m", "action": action,
        "candle_open_time": t, "event_time": t + MIN - 1,
    })  # fmt: skip


async def evaluated(db: Any, t: int) -> None:
    """The strategy's word that dep-1 has evaluated BTCUSDT 1m up to the candle at ``t``."""
    await db.strategy_progress.update_one(
        {"_id": "dep-1:BTCUSDT:1m"}, {"$max": {"open_time": t}}, upsert=True
    )


async def test_a_stop_waits_for_the_signals_of_the_candles_before_it(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any
) -> None:
    settings = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db, stop_gate_wait_s=60)
    await prepare(settings, db)
    order = entry("BUY")
    _, sl, _, _ = expected_entry(1)
    quiet = bar(T0 + MIN, 100.1, 100.6, 99.4, 100.0)
    falling = bar(T0 + 2 * MIN, 99.0, 99.2, 96.0, 97.0)  # would hit the stop
    sl_leg = ids.client_order_id(order.signal_id, "sl")
    await store_signal(db, T0, "enter_long")
    await evaluated(db, T0)
    async with running(settings):
        await send(settings, order)
        await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
        await store_candles(db, quiet, falling)
        await send(settings, quiet, falling)
        await asyncio.sleep(2.0)
        # the strategy has not evaluated `quiet` yet: its signal might close the position
        assert await db.fills.find_one({"client_order_id": sl_leg}) is None
        await store_signal(db, quiet.open_time, "exit")
        await evaluated(db, quiet.open_time)
        await asyncio.sleep(1.0)
        # evaluated, and its signal closes the position: the stop waits for that exit
        assert await db.fills.find_one({"client_order_id": sl_leg}) is None
        exit_order = entry("SELL", t=quiet.open_time, reduce_only=True, quantity=Decimal("0.5"),
                           stop_loss_pct=None, take_profit_pct=None)  # fmt: skip
        await send(settings, exit_order)
        done = await until(
            lambda: db.fills.find_one({"client_order_id": exit_order.client_order_id})
        )
        await until(lambda: stops_consumed(settings, 2))
    # as the engine: the exit at the signal candle's close, the stop never acted
    assert sl is not None and falling.low < sl
    assert done["exit_reason"] in (None, "signal") and Decimal(done["price"]) == dec(
        live.market_price(-1, 100.0, SLIP)
    )
    assert await db.fills.count_documents({}) == 2
    assert await db.fills.find_one({"client_order_id": sl_leg}) is None


@pytest.mark.parametrize(("status", "wait_s", "held"), [("running", 1.0, True),
                                                        ("stopped", 60.0, False)])  # fmt: skip
async def test_a_stop_is_held_at_most_stop_gate_wait_s_and_never_for_a_stopped_deployment(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any,
    status: str, wait_s: float, held: bool,
) -> None:  # fmt: skip
    settings = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db, stop_gate_wait_s=wait_s)
    await prepare(settings, db)
    order = entry("BUY")
    falling = bar(T0 + MIN, 99.0, 99.2, 96.0, 97.0)
    sl_leg = ids.client_order_id(order.signal_id, "sl")
    # the strategy never says it evaluated the entry's candle
    await store_signal(db, T0, "enter_long", status=status)
    async with running(settings):
        await send(settings, order)
        await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
        await store_candles(db, falling)
        await send(settings, falling)
        started = asyncio.get_running_loop().time()
        out = await until(lambda: db.fills.find_one({"client_order_id": sl_leg}))
    waited = asyncio.get_running_loop().time() - started
    assert (waited >= wait_s) if held else (waited < 10)
    assert out["exit_reason"] == "stop_loss"


async def test_candles_consumed_before_the_entry_are_checked_when_it_opens(
    settings: ExecutionSettings, db: Any
) -> None:
    """Ordering race: the next candles were stored, published and consumed (no position
    yet) before the entry order arrived; the entry's catch-up takes the same exit."""
    await prepare(settings, db)
    order = entry("SELL")
    _, sl, tp, liq = expected_entry(-1)
    signal_bar = bar(T0, 100.0, 100.2, 99.8, 100.0)  # at or before the signal: never checked
    quiet, dropping = (
        bar(T0 + MIN, 99.9, 100.5, 99.0, 99.5),
        bar(T0 + 2 * MIN, 99.0, 99.3, 96.0, 96.5),
    )
    later = bar(T0 + 3 * MIN, 96.5, 130.0, 96.0, 120.0)  # would hit the stop, but too late
    hit = live.protective_exit(-1, dropping.open, dropping.high, dropping.low, sl, tp, liq, SLIP)
    assert hit is not None and hit[1] == "take_profit"
    async with running(settings):
        await store_candles(db, signal_bar, quiet, dropping)
        await send(settings, signal_bar, quiet, dropping)
        await until(lambda: stops_consumed(settings, 3))
        await send(settings, order)
        tp_leg = ids.client_order_id(order.signal_id, "tp")
        out = await until(lambda: db.fills.find_one({"client_order_id": tp_leg}))
        await store_candles(db, later)
        await send(settings, later)
        await until(lambda: stops_consumed(settings, 4))
        fills = await fills_on_topic(settings, 2)
    assert out["exit_reason"] == "take_profit" and Decimal(out["price"]) == dec(hit[0])
    assert out["event_time"] == dropping.close_time
    # the exit goes out right after the entry, in the order's own events
    assert [f.client_order_id for f in fills] == [order.client_order_id, tp_leg]
    assert await db.fills.count_documents({}) == 2


async def test_a_stop_held_in_the_entrys_catch_up_acts_without_another_candle(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any
) -> None:
    """End of a feed: the candles after the signal's were consumed before the entry came,
    and the stop one of them fires waits for the strategy. Once the strategy has evaluated
    the candle before it, the stop acts with no further candle to carry it."""
    settings = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db, stop_gate_wait_s=60)
    await prepare(settings, db)
    order = entry("BUY")
    _, sl, _, _ = expected_entry(1)
    quiet = bar(T0 + MIN, 100.1, 100.6, 99.4, 100.0)
    falling = bar(T0 + 2 * MIN, 99.0, 99.2, 96.0, 97.0)  # hits the stop
    sl_leg = ids.client_order_id(order.signal_id, "sl")
    await store_signal(db, T0, "enter_long")
    await evaluated(db, T0)
    async with running(settings):
        await store_candles(db, quiet, falling)
        await send(settings, quiet, falling)
        await until(lambda: stops_consumed(settings, 2))
        await send(settings, order)
        await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
        await asyncio.sleep(2.5)  # past two rounds of retries
        # the strategy has not evaluated `quiet` yet: its signal might close the position
        assert await db.fills.find_one({"client_order_id": sl_leg}) is None
        await evaluated(db, quiet.open_time)
        out = await until(lambda: db.fills.find_one({"client_order_id": sl_leg}))
        fills = await fills_on_topic(settings, 3)
    assert sl is not None and falling.low < sl
    assert out["exit_reason"] == "stop_loss" and out["event_time"] == falling.close_time
    # the entry fill goes out again before the exit (a book never sees an exit first)
    assert [f.client_order_id for f in fills] == [order.client_order_id] * 2 + [sl_leg]
    assert await db.fills.count_documents({}) == 2


async def test_a_copy_of_an_order_places_nothing(settings: ExecutionSettings, db: Any) -> None:
    await prepare(settings, db)
    order = entry("BUY", stop_loss_pct=None, take_profit_pct=None)
    async with running(settings):
        await send(settings, order)
        await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
        await send(settings, order)  # the same order again (risk republished it)
        fills = await fills_on_topic(settings, 1)
        updates = await updates_on_topic(settings, 1)
    # the first answer stands: no rejection for "a position is open", nothing filled twice
    assert len(fills) == 1 and [u.status for u in updates] == ["FILLED"]
    assert await db.fills.count_documents({}) == 1
    assert await db.exec_orders.count_documents({}) == 1
    [position] = (await positions(db, settings)).values()
    assert Decimal(position["quantity"]) == Decimal("0.5")
    assert await db.execution_audit.count_documents({}) == 1


async def test_an_exit_published_before_the_snapshot_closed_it_is_the_same_after_a_restart(
    settings: ExecutionSettings, db: Any
) -> None:
    """kill -9 after a stop's exit was published but before a snapshot without the position
    was written (and before its fill was stored): the restarted service loads the position,
    reads the candles again and makes the same exit, once in the store."""
    await prepare(settings, db)
    order = entry("BUY")
    falling = bar(T0 + MIN, 99.0, 99.2, 96.0, 97.0)
    sl_leg = ids.client_order_id(order.signal_id, "sl")
    async with running(settings):
        await send(settings, order)
        await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
    before = await db.execution_state.find().to_list(None)  # the position open
    assert len(await positions(db, settings)) == 1
    await store_candles(db, falling)
    async with running(settings):
        await send(settings, falling)
        first = await until(lambda: db.fills.find_one({"client_order_id": sl_leg}))
    assert await positions(db, settings) == {}
    # as the crash left it: the older snapshot, the exit's fill not stored
    for doc in before:
        await db.execution_state.replace_one({"_id": doc["_id"]}, doc)
    await db.fills.delete_one({"client_order_id": sl_leg})
    async with running(settings):
        again = await until(lambda: db.fills.find_one({"client_order_id": sl_leg}))
        fills = await fills_on_topic(settings, 5)
    by_id: dict[Any, Fill] = {}
    for f in fills:
        # the same event (produced_at: when this copy was made, the rest equal)
        seen = by_id.setdefault(f.event_id, f)
        assert same(seen, f), f"a re-published fill changed: {seen!r} != {f!r}"
    assert len(by_id) == 2 and await db.fills.count_documents({}) == 2
    keep = ("price", "quantity", "event_id", "event_time", "exit_reason")
    assert {k: again[k] for k in keep} == {k: first[k] for k in keep}
    assert await positions(db, settings) == {}


async def test_refusals_are_order_updates_with_a_reason(
    settings: ExecutionSettings, db: Any
) -> None:
    await prepare(settings, db)
    exit_ = entry("SELL", reduce_only=True)
    binance = entry("BUY", t=T0 + MIN, venue="binance")
    first, second = entry("BUY", t=T0 + 2 * MIN), entry("SELL", t=T0 + 3 * MIN)
    async with running(settings):
        await send(settings, exit_, binance, first, second)
        updates = await updates_on_topic(settings, 6)
    by_id = {u.client_order_id: u for u in updates}
    assert by_id[exit_.client_order_id].status == "REJECTED"
    assert "no open position" in (by_id[exit_.client_order_id].reason or "")
    assert by_id[binance.client_order_id].status == "REJECTED"
    assert "not enabled" in (by_id[binance.client_order_id].reason or "")
    assert by_id[first.client_order_id].status == "FILLED"
    assert by_id[second.client_order_id].status == "REJECTED"
    assert "long position" in (by_id[second.client_order_id].reason or "")
    doc = await db.orders.find_one({"_id": exit_.client_order_id})
    assert doc["status"] == "REJECTED" and doc["owner"] == "alice" and doc["reduce_only"] is True
    assert await db.fills.count_documents({}) == 1


async def test_a_newer_tick_sets_the_fill_price(settings: ExecutionSettings, db: Any) -> None:
    await prepare(settings, db)
    warm = entry("BUY", symbol="ETHUSDT", stop_loss_pct=None, take_profit_pct=None)
    order = entry("BUY", t=T0 + MIN, stop_loss_pct=None, take_profit_pct=None)
    tick_time = order.candle_open_time + MIN + 250  # type: ignore[operator]
    tick = Tick(
        event_time=tick_time,
        source="test",
        symbol="BTCUSDT",
        price=101.25,
        quantity=1.0,
        trade_id=9,
    )
    async with running(settings):
        # Once an order was answered, the ticks reader (no group join) is following.
        await send(settings, warm)
        await until(lambda: db.fills.find_one({"symbol": "ETHUSDT"}))
        await send(settings, tick)
        await asyncio.sleep(1.0)
        await send(settings, order)
        doc = await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
    assert Decimal(doc["price"]) == dec(live.market_price(1, 101.25, SLIP))
    assert doc["event_time"] == tick_time


async def test_garbage_on_orders_and_candles_is_dead_lettered_and_work_goes_on(
    settings: ExecutionSettings, db: Any
) -> None:
    await prepare(settings, db)
    order = entry("BUY")
    bad_order = json.dumps({**json.loads(order.model_dump_json()), "quantity": "-1"}).encode()
    async with running(settings):
        await send(
            settings, raw=[("orders", b"{not json"), ("candles", bad_order), ("orders", bad_order)]
        )
        await send(settings, order)
        await until(lambda: db.fills.find_one({"client_order_id": order.client_order_id}))
        bootstrap, prefix = settings.kafka_bootstrap_servers, settings.topic_prefix
        orders_dlq = await read_topic(bootstrap, f"{prefix}orders.dlq", 2)
        await until(lambda: stops_consumed(settings, 1))
        failed = MESSAGES_FAILED.labels("execution", f"{prefix}candles", "validation")
    letters = [DeadLetter.model_validate_json(v) for v in orders_dlq]
    # exactly two: each message is handed over once, the seek on assignment included
    assert [d.error_type for d in letters] == ["decode", "validation"]
    assert base64.b64decode(letters[1].payload_b64) == bad_order
    # candles are read outside any group (the strategy's consumers dead-letter them): a
    # malformed one is counted and skipped
    assert failed._value.get() == 1
