"""The risk service in-process (serve) on real tansu and SecantusDB, with the test playing
the execution venue: signal in -> order out, exactly once; a signal waits for the order in
flight and sizes on the cash after it; fills booked once; the kill switch blocks entries
but lets exits through until an admin resets it; malformed messages go to their .dlq."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

import kwont_ohlcv as ohlcv
from kwont_common import events as ev
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.service import serve
from kwont_common.trading.accounts import AccountConfig, RiskLimits, save_account
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_marketdata import store as candle_store
from kwont_quant.live import entry_quantity, protective_exit
from kwont_risk.main import setup
from kwont_risk.settings import RiskSettings
from tests.libs.common.kafka_helpers import wait_for

pytestmark = pytest.mark.integration
T0 = 1_704_067_200_000 + 10 * 3_600_000  # 2024-01-01 10:00 UTC
MIN = 60_000
FEE = Decimal("0.001")
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    settings: RiskSettings
    db: Any
    producer: EventProducer
    seen: dict[str, list[Any]] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    service: asyncio.Task[int] | None = None

    def start(self) -> None:
        self.stop = asyncio.Event()
        self.service = asyncio.create_task(serve(self.settings, setup, self.stop))

    async def halt(self) -> None:
        """Stop the service gracefully (its snapshots and API documents written)."""
        self.stop.set()
        assert self.service is not None
        assert await asyncio.wait_for(self.service, 20) == 0

    async def snapshot(self) -> dict[str, Any]:
        """The account's book in risk's partition snapshot (``risk_state``)."""
        doc = await self.db["risk_state"].find_one({"_id": f"{self.settings.group_id}:0"})
        return dict(((doc or {}).get("state") or {}).get("books", {}).get("acct") or {})

    def sent(self) -> list[ev.Order]:
        """Every order published, copies included."""
        return [ev.Order.model_validate_json(v) for v in self.seen.get("orders", [])]

    def orders(self) -> list[ev.Order]:
        """The distinct orders, as downstream sees them (it drops copies by event id: a
        rebalance or restart replays from the last snapshot and publishes some again)."""
        distinct: dict[uuid.UUID, ev.Order] = {}
        for order in self.sent():
            distinct.setdefault(order.event_id, order)
        return list(distinct.values())

    def rejections(self) -> list[ev.RiskRejection]:
        distinct: dict[uuid.UUID, ev.RiskRejection] = {}
        for raw in self.seen.get("risk-rejections", []):
            event = ev.RiskRejection.model_validate_json(raw)
            distinct.setdefault(event.event_id, event)
        return list(distinct.values())

    async def republished(self, since: int, *expected: ev.Order) -> None:
        """Wait until every one of ``expected`` was published again after the first
        ``since`` orders, and check that nothing else was (same ids, same quantities)."""
        want = {o.event_id: o.quantity for o in expected}
        await wait_for(lambda: want.keys() <= {o.event_id for o in self.sent()[since:]})
        assert {o.event_id: o.quantity for o in self.sent()[since:]} == want

    def letters(self, topic: str) -> list[ev.DeadLetter]:
        return [ev.DeadLetter.model_validate_json(v) for v in self.seen.get(f"{topic}.dlq", [])]

    async def send(self, *events: ev.Event) -> None:
        for event in events:
            await self.producer.publish(event)

    async def raw(self, topic: str, key: bytes, value: bytes) -> None:
        await self.producer.send_raw(f"{self.settings.topic_prefix}{topic}", key, value)


async def collect(settings: RiskSettings, into: dict[str, list[Any]]) -> None:
    names = ["orders", "risk-rejections"] + [
        f"{t}.dlq" for t in ("signals", "fills", "order-updates", "portfolio-snapshots")
    ]
    consumer = AIOKafkaConsumer(
        *(f"{settings.topic_prefix}{n}" for n in names),
        bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )  # fmt: skip
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            for tp, records in batch.items():
                name = tp.topic.removeprefix(settings.topic_prefix)
                into.setdefault(name, []).extend(r.value for r in records)
    finally:
        await consumer.stop()


@pytest.fixture
async def stack(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, unique_name: str
) -> AsyncIterator[Stack]:
    settings = RiskSettings(
        service_name="risk", kafka_bootstrap_servers=kafka_bootstrap, kafka_idempotence=False,
        topic_prefix=f"{unique_name}.", topic_partitions=1, mongo_uri=mongo.app_uri,
        mongo_database=mongo_db, mongo_market_database=mongo_db, metrics_port=0,
        consumer_group=f"risk-{unique_name}", retry_backoff_max_s=0.2, in_flight_wait_s=10,
        limits_cache_s=0,
    )  # fmt: skip
    await ensure_topics(settings)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db = client[mongo_db]
    producer = EventProducer(settings)
    await producer.start()
    stack = Stack(settings, db, producer)
    stack.start()
    collector = asyncio.create_task(collect(settings, stack.seen))
    try:
        yield stack
    finally:
        await stack.halt()
        collector.cancel()
        await asyncio.gather(collector, return_exceptions=True)
        await producer.stop()
        await client.close()


async def found(db: Any, collection: str, query: dict[str, Any]) -> dict[str, Any]:
    """A document written behind, once it is there."""
    out: dict[str, Any] = {}

    async def there() -> bool:
        out.update(await db[collection].find_one(query) or {})
        return bool(out)

    await wait_for(there)
    return out


def signal(action: str, price: float, t: int, symbol: str = "BTCUSDT", **kw: Any) -> ev.Signal:
    sid = uuid.uuid4()
    fields: dict[str, Any] = {
        "event_id": sid, "correlation_id": sid, "event_time": t, "source": "test",
        "account": "acct", "symbol": symbol, "deployment_id": "dep", "strategy": "sma_cross",
        "interval": "1m", "action": action, "candle_open_time": t - MIN, "reference_price": price,
    }  # fmt: skip
    return ev.Signal(**(fields | kw))


def fill_of(order: ev.Order, price: str, trade: str) -> ev.Fill:
    px = Decimal(price)
    return ev.Fill(
        event_time=order.event_time, source="test", account=order.account, symbol=order.symbol,
        correlation_id=order.correlation_id, client_order_id=order.client_order_id,
        venue=order.venue, trade_id=trade, side=order.side, quantity=order.quantity, price=px,
        fee=order.quantity * px * FEE, reduce_only=order.reduce_only,
    )  # fmt: skip


def filled(order: ev.Order, price: str) -> ev.OrderUpdate:
    return ev.OrderUpdate(
        event_time=order.event_time, source="test", account=order.account, symbol=order.symbol,
        correlation_id=order.correlation_id, client_order_id=order.client_order_id,
        venue=order.venue, status="FILLED", filled_quantity=order.quantity,
        average_price=Decimal(price),
    )  # fmt: skip


def engine_quantity(cash: Decimal, price: float, step: str = "0.001") -> Decimal:
    raw = entry_quantity(float(cash), price, float(FEE), 1.0, 1.0, 1.0)
    return Decimal(repr(raw)).quantize(Decimal(step), rounding=ROUND_DOWN)


async def prepare(db: Any, **limits: Any) -> None:
    await save_account(db, AccountConfig(account="acct", limits=RiskLimits(**limits)))
    await db["deployments"].insert_one({"_id": "dep", "account": "acct", "owner": "alice"})
    filters = {"step_size": "0.001", "min_notional": "5", "tick_size": "0.01"}
    await db["symbols"].insert_many(
        [{"_id": s, "symbol": s, "filters": filters} for s in ("BTCUSDT", "ETHUSDT")]
    )


async def test_signal_in_order_out_once_even_when_the_signal_is_redelivered(stack: Stack) -> None:
    await prepare(stack.db)
    sig = signal("enter_long", 100.0, T0, stop_loss=95.1234, stop_loss_pct=0.05)
    await stack.send(sig)
    await wait_for(lambda: len(stack.orders()) == 1)
    [order] = stack.orders()
    assert order.client_order_id == f"ke-{sig.event_id.hex}" and order.side == "BUY"
    assert order.quantity == engine_quantity(Decimal(10_000), 100.0) == Decimal("99.900")
    # a long's stop rounds up to the tick (toward the entry: never a wider risk)
    assert order.stop_loss == Decimal("95.13") and order.stop_loss_pct == 0.05
    assert (order.correlation_id, order.signal_id) == (sig.event_id, sig.event_id)
    assert order.event_time == sig.event_time and order.reference_price == 100.0
    stored = await found(stack.db, "risk_orders", {"_id": order.client_order_id})
    assert stored["owner"] == "alice" and stored["order"]["quantity"] == "99.900"

    since = len(stack.sent())
    await stack.send(sig)  # redelivered while its order is still in flight
    await stack.republished(since, order)
    assert stack.orders() == [order]
    await asyncio.sleep(0.5)  # two write-behind rounds
    assert await stack.db["risk_orders"].count_documents({}) == 1


@pytest.mark.parametrize("venue", ["paper", "binance"])
async def test_a_signal_waits_for_the_order_in_flight_and_sizes_on_the_cash_after_it(
    stack: Stack, venue: str
) -> None:
    """The reversal's entry is sized on the cash after its closing order: on the paper venue
    from the fill it will get (sent at once), elsewhere from the booked fill (waited for)."""
    await prepare(stack.db)
    first = signal("enter_long", 100.0, T0, venue=venue)
    await stack.send(first)
    await wait_for(lambda: len(stack.orders()) == 1)
    [entry] = stack.orders()

    flip = signal("enter_short", 110.0, T0 + MIN, stop_loss=115.1234, venue=venue)
    await stack.send(flip)
    await asyncio.sleep(1.0)
    assert len(stack.orders()) == 1, "judged before the entry in flight was filled"

    await stack.send(filled(entry, "100"))  # the update overtakes its fill
    await asyncio.sleep(0.5)
    assert len(stack.orders()) == 1, "a FILLED update must wait for its fill to be booked"
    entry_fill = fill_of(entry, "100", "t-1")
    await stack.send(entry_fill, entry_fill)  # delivered twice, booked once
    await wait_for(lambda: len(stack.orders()) >= 2)
    closing = stack.orders()[1]
    assert closing.client_order_id == f"kx-{flip.event_id.hex}"
    assert (closing.side, closing.quantity, closing.reduce_only) == ("SELL", entry.quantity, True)
    exit_fill = fill_of(closing, "110", "t-2")  # the paper venue's: no slippage configured
    if venue == "paper":
        await wait_for(lambda: len(stack.orders()) == 3)
        await stack.send(exit_fill, filled(closing, "110"))
    else:
        await asyncio.sleep(0.5)
        assert len(stack.orders()) == 2, "the entry must wait for the closing order's fill"
        await stack.send(exit_fill, filled(closing, "110"))
        await wait_for(lambda: len(stack.orders()) == 3)
    short = stack.orders()[2]
    cash = Decimal(10_000) - entry_fill.fee + entry.quantity * 10 - exit_fill.fee
    assert short.side == "SELL" and not short.reduce_only
    assert short.quantity == engine_quantity(cash, 110.0)
    assert short.stop_loss == Decimal("115.12")

    async def booked() -> bool:
        book = await stack.db["risk_books"].find_one({"_id": "acct"})
        return list(book["in_flight"]["BTCUSDT"]) == [short.client_order_id]

    await wait_for(booked)
    book = await stack.db["risk_books"].find_one({"_id": "acct"})
    assert Decimal(book["ledger"]["cash"]) == cash
    assert book["ledger"]["positions"] == {}
    assert "seen" not in book and "decided" not in book  # the API's view only

    async def snapshotted() -> bool:
        return (await stack.snapshot()).get("seen") == [f"{venue}:t-1", f"{venue}:t-2"]

    await wait_for(snapshotted)


async def paper_reversal(stack: Stack) -> tuple[ev.Signal, ev.Order, ev.Order]:
    """A long entered and filled, then a flip to short on the paper venue: the flip signal
    and its closing and entry orders (published together)."""
    await prepare(stack.db)
    first = signal("enter_long", 100.0, T0)
    await stack.send(first)
    await wait_for(lambda: len(stack.orders()) == 1)
    [entry] = stack.orders()
    await stack.send(fill_of(entry, "100", "t-1"), filled(entry, "100"))
    flip = signal("enter_short", 110.0, T0 + MIN)
    await stack.send(flip)
    await wait_for(lambda: len(stack.orders()) == 3)
    closing, short = stack.orders()[1:]
    return flip, closing, short


async def test_a_redelivered_paper_reversal_re_sends_both_orders_without_waiting(
    stack: Stack,
) -> None:
    flip, closing, short = await paper_reversal(stack)
    assert [closing.client_order_id, short.client_order_id] == [
        f"kx-{flip.event_id.hex}",
        f"ke-{flip.event_id.hex}",
    ]

    async def both_in_flight() -> bool:
        book = await stack.db["risk_books"].find_one({"_id": "acct"}) or {}
        pending = set((book.get("in_flight") or {}).get("BTCUSDT") or {})
        return pending == {closing.client_order_id, short.client_order_id}

    await wait_for(both_in_flight)

    since = len(stack.sent())
    await stack.send(flip)  # redelivered while both are in flight: the same two, in order
    await stack.republished(since, closing, short)
    assert [o.event_id for o in stack.sent()[since:]][-2:] == [closing.event_id, short.event_id]
    assert len(stack.orders()) == 3
    await asyncio.sleep(0.5)  # two write-behind rounds
    assert await stack.db["risk_orders"].count_documents({}) == 3
    assert stack.rejections() == []


async def test_a_restart_loads_the_snapshot_and_a_redelivery_finds_its_decision(
    stack: Stack,
) -> None:
    """The books live in memory: a graceful stop writes the partition's snapshot, the next
    start loads it and reads on from its offsets (nothing is decided again), and a
    redelivered signal re-sends what the snapshot says it decided, without waiting."""
    flip, closing, short = await paper_reversal(stack)
    await stack.halt()
    snap = await stack.snapshot()
    assert set(snap["in_flight"]["BTCUSDT"]) == {closing.client_order_id, short.client_order_id}
    assert set(snap["decided"][flip.event_id.hex]["orders"]) == {"x", "e"}
    since = len(stack.sent())
    stack.start()
    await asyncio.sleep(1.0)
    assert len(stack.sent()) == since, "inputs before the snapshot's offsets are not replayed"
    await stack.send(flip)
    await stack.republished(since, closing, short)


async def test_without_a_snapshot_the_replay_decides_every_signal_the_same_again(
    stack: Stack,
) -> None:
    """What a kill -9 before any snapshot leaves: the next owner replays all four inputs
    from the start, topic by topic. The fills of a signal's orders wait until the replayed
    signal is decided again, so every order comes out again with the same id and quantity,
    and the book ends the same."""
    _flip, closing, short = await paper_reversal(stack)
    await stack.send(fill_of(closing, "110", "t-2"), filled(closing, "110"))
    await stack.send(fill_of(short, "110", "t-3"), filled(short, "110"))

    async def settled() -> bool:
        book = await stack.db["risk_books"].find_one({"_id": "acct"}) or {}
        return "BTCUSDT" in (book.get("ledger") or {}).get("positions", {}) and not (
            (book.get("in_flight") or {}).get("BTCUSDT")
        )

    await wait_for(settled)
    await stack.halt()
    before = await stack.snapshot()
    await stack.db["risk_state"].delete_many({})
    await stack.db["risk_books"].delete_many({})
    since = len(stack.sent())
    stack.start()
    await stack.republished(since, *stack.orders())
    await wait_for(settled)
    await stack.halt()
    after = await stack.snapshot()
    assert after["ledger"] == before["ledger"] and after["seen"] == before["seen"]
    assert after["done"] == before["done"]
    stack.start()


async def test_kill_switch_blocks_entries_lets_exits_through_until_an_admin_reset(
    stack: Stack, mongo: MongoEndpoint, mongo_db: str
) -> None:
    await prepare(stack.db, max_daily_loss=0.05)

    def decisions(decision: str, code: str) -> float:
        labels = {"decision": decision, "code": code}
        return REGISTRY.get_sample_value("kwont_risk_decisions_total", labels) or 0.0

    before = {k: decisions(*k) for k in (("rejected", "kill_switch"), ("approved", "exit"))}
    await stack.send(signal("enter_long", 100.0, T0))
    await wait_for(lambda: len(stack.orders()) == 1)
    [entry] = stack.orders()
    await stack.send(fill_of(entry, "100", "t-1"))
    mark = ev.Position(symbol="BTCUSDT", side="LONG", quantity=entry.quantity,
                       average_entry=Decimal(100), mark_price=Decimal(90))  # fmt: skip
    snap = ev.PortfolioSnapshot(event_time=T0 + MIN, source="test", account="acct",
                                positions=[mark], equity=Decimal(9000))  # fmt: skip
    await stack.send(snap)

    async def marked() -> bool:
        book = await stack.db["risk_books"].find_one({"_id": "acct"})
        return bool(
            book and "BTCUSDT" in (book.get("marks") or {}) and not book["in_flight"]["BTCUSDT"]
        )

    await wait_for(marked)
    await stack.send(signal("enter_long", 2000.0, T0 + 2 * MIN, "ETHUSDT"))
    await wait_for(lambda: len(stack.rejections()) == 1)
    tripped = stack.rejections()[0]
    assert tripped.code == "max_daily_loss" and "below the day's start 10000.00" in tripped.reason
    await stack.send(signal("enter_long", 2000.0, T0 + 3 * MIN, "ETHUSDT"))
    await wait_for(lambda: len(stack.rejections()) == 2)
    assert stack.rejections()[1].code == "kill_switch"
    stored = await found(stack.db, "risk_rejections", {"code": "kill_switch"})
    assert stored["owner"] == "alice" and stored["account"] == "acct"

    exit_signal = signal("exit", 90.0, T0 + 4 * MIN, exit_side="long")
    await stack.send(exit_signal)  # the exit passes the tripped switch
    await wait_for(lambda: len(stack.orders()) == 2)
    closing = stack.orders()[1]
    assert closing.reduce_only and closing.quantity == entry.quantity and closing.side == "SELL"
    await stack.send(fill_of(closing, "90", "t-2"))
    assert decisions("rejected", "kill_switch") == before[("rejected", "kill_switch")] + 1
    assert decisions("approved", "exit") == before[("approved", "exit")] + 1

    env = {**os.environ, "KWONT_MONGO_URI": mongo.app_uri, "KWONT_MONGO_DATABASE": mongo_db}
    cli = await asyncio.to_thread(
        subprocess.run, [BIN / "kwont-risk", "reset-kill-switch", "acct", "--by", "admin"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 0 and "kill switch reset" in cli.stdout, cli.stderr
    await stack.send(signal("enter_long", 2000.0, T0 + 5 * MIN, "ETHUSDT"))
    await wait_for(lambda: len(stack.orders()) == 3)
    assert stack.orders()[2].symbol == "ETHUSDT" and len(stack.rejections()) == 2


async def test_malformed_messages_go_to_their_dead_letter_topics_and_risk_carries_on(
    stack: Stack,
) -> None:
    await prepare(stack.db)
    topics = ("signals", "fills", "order-updates", "portfolio-snapshots")
    for topic in topics:
        await stack.raw(topic, b"acct:BTCUSDT", b"{not json")
    await stack.raw("fills", b"acct:BTCUSDT", b'{"event_time": 1, "source": "x"}')
    for topic in topics:
        await wait_for(lambda t=topic: len(stack.letters(t)) >= 1)  # type: ignore[misc]
    assert base64.b64decode(stack.letters("signals")[0].payload_b64) == b"{not json"
    await wait_for(lambda: len(stack.letters("fills")) == 2)
    assert stack.letters("fills")[1].error_type == "validation"
    await stack.send(signal("enter_long", 100.0, T0))
    await wait_for(lambda: len(stack.orders()) == 1)


async def test_a_closing_order_refused_because_a_stop_got_there_first_waits_for_the_stop_fill(
    stack: Stack,
) -> None:
    """On Binance (the paper venue's stops are foreseen from the stored candles instead)."""
    await prepare(stack.db)
    first = signal("enter_long", 100.0, T0, stop_loss_pct=0.05, venue="binance")
    await stack.send(first)
    await wait_for(lambda: len(stack.orders()) == 1)
    [entry] = stack.orders()
    entry_fill = fill_of(entry, "100", "t-1")
    await stack.send(entry_fill)

    await stack.send(signal("enter_short", 94.0, T0 + 2 * MIN, venue="binance"))
    await wait_for(lambda: len(stack.orders()) == 2)
    closing = stack.orders()[1]
    rejected = filled(closing, "94").model_copy(
        update={"status": "REJECTED", "filled_quantity": Decimal(0), "average_price": None}
    )
    await stack.send(rejected)  # the venue had no position left: its stop filled first
    await asyncio.sleep(0.5)
    assert len(stack.orders()) == 2 and stack.rejections() == []
    stop_fill = fill_of(entry, "95", "t-sl").model_copy(
        update={"client_order_id": f"ksl-{first.event_id.hex}", "side": "SELL",
                "reduce_only": True, "exit_reason": "stop_loss"}
    )  # fmt: skip
    await stack.send(stop_fill)
    await wait_for(lambda: len(stack.orders()) == 3)
    short = stack.orders()[2]
    cash = Decimal(10_000) - entry_fill.fee - entry.quantity * 5 - stop_fill.fee
    assert short.side == "SELL" and short.quantity == engine_quantity(cash, 94.0)


async def store_candle(db: Any, open_time: int, o: float, h: float, lo: float, c: float) -> None:
    """A closed 1m candle in the market-data store (marketdata stores before publishing)."""
    values = (open_time, o, h, lo, c, 1.0, c, 1.0)
    cols = {n: np.array([v], dtype=np.float64) for n, v in zip(ohlcv.COLUMNS, values, strict=True)}
    await candle_store.upsert(db, "BTCUSDT", "1m", cols, feed="synthetic")


async def open_long(stack: Stack, venue: str = "paper") -> tuple[ev.Signal, ev.Order, ev.Fill]:
    """A long entered from candle T0 - 1m at 100 with a 5 % stop (95), filled and booked."""
    await prepare(stack.db)
    first = signal("enter_long", 100.0, T0, stop_loss_pct=0.05, venue=venue)
    await stack.send(first)
    await wait_for(lambda: len(stack.orders()) == 1)
    [entry] = stack.orders()
    entry_fill = fill_of(entry, "100", "t-1")
    await stack.send(entry_fill)

    async def booked() -> bool:
        book = await stack.db["risk_books"].find_one({"_id": "acct"})
        return "BTCUSDT" in ((book or {}).get("ledger") or {}).get("positions", {})

    await wait_for(booked)
    return first, entry, entry_fill


async def test_a_signal_whose_candle_hit_the_stop_waits_for_the_stop_fill_then_enters_again(
    stack: Stack,
) -> None:
    first, entry, entry_fill = await open_long(stack)
    await store_candle(stack.db, T0, 99.0, 100.0, 94.0, 96.0)  # candle i: low crosses 95
    again = signal("enter_long", 96.0, T0 + MIN, stop_loss_pct=0.05)  # signal of candle i
    await stack.send(again)  # before the venue's stop fill of candle i
    await asyncio.sleep(1.0)
    assert stack.rejections() == [], "judged on the position the stop already closed"
    assert len(stack.orders()) == 1

    hit = protective_exit(1, 99.0, 100.0, 94.0, 100.0 * 0.95, None, 0.0, 0.0)
    assert hit is not None and hit[1] == "stop_loss"
    stop_fill = fill_of(entry, repr(hit[0]), "t-sl").model_copy(
        update={"client_order_id": f"ksl-{first.event_id.hex}", "side": "SELL",
                "reduce_only": True, "exit_reason": "stop_loss", "event_time": T0 + MIN - 1}
    )  # fmt: skip
    await stack.send(stop_fill)
    await wait_for(lambda: len(stack.orders()) == 2)
    re_entry = stack.orders()[1]
    cash = Decimal(10_000) - entry_fill.fee - entry.quantity * (100 - stop_fill.price)
    cash -= stop_fill.fee
    assert re_entry.client_order_id == f"ke-{again.event_id.hex}" and re_entry.side == "BUY"
    assert re_entry.quantity == engine_quantity(cash, 96.0) != entry.quantity
    assert stack.rejections() == []


@pytest.mark.parametrize(
    ("venue", "low"), [("paper", 96.0), ("binance", 94.0)], ids=["stop-not-hit", "binance"]
)
async def test_no_wait_when_no_paper_stop_fired(stack: Stack, venue: str, low: float) -> None:
    await open_long(stack, venue)
    await store_candle(stack.db, T0, 99.0, 100.0, low, 97.0)
    started = asyncio.get_running_loop().time()
    await stack.send(signal("enter_long", 97.0, T0 + MIN, venue=venue))
    await wait_for(lambda: len(stack.rejections()) == 1)
    waited = asyncio.get_running_loop().time() - started
    assert stack.rejections()[0].code == "already_in_position"
    assert waited < stack.settings.in_flight_wait_s / 4, waited
    assert len(stack.orders()) == 1
