"""The portfolio service on real Kafka and MongoDB: fills booked once into positions,
balances and PnL (oracle: the shared Ledger), marks revaluing the holders, the documents the
gateway serves, and malformed messages dead-lettered."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client import REGISTRY

from kwont_common.events import DeadLetter, Fill, PortfolioSnapshot, Tick
from kwont_common.kafka import EventProducer
from kwont_common.testing import candle
from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_common.trading.ledger import Ledger
from kwont_gateway.portfolio import curve_of, public
from kwont_portfolio.settings import PortfolioSettings
from kwont_portfolio.snapshot import fill_snapshot_id, mark_of_candle, mark_snapshot_id
from tests.services.portfolio.conftest import (
    T0,
    fill,
    make_settings,
    read_topic,
    running,
    snapshots,
    until,
)

pytestmark = pytest.mark.integration
MIN = 60_000


async def publish(settings: PortfolioSettings, *events: Any) -> None:
    producer = EventProducer(settings)
    await producer.start()
    try:
        for event in events:
            if isinstance(event, tuple):  # (base topic, raw bytes)
                await producer.send_raw(f"{settings.topic_prefix}{event[0]}", b"k", event[1])
            else:
                await producer.publish(event)
    finally:
        await producer.stop()


def expected(ledger: Ledger, marks: dict[str, Decimal]) -> dict[str, Any]:
    """A snapshot's money fields by hand from the ledger: unrealised = side x (mark - entry)
    x quantity, equity = cash + unrealised, locked = entry notional / leverage."""
    unrealized = sum(
        (p.side * (marks[s] - p.average_entry) * p.quantity for s, p in ledger.positions.items()),
        Decimal(0),
    )
    locked = sum(
        (p.average_entry * p.quantity / p.leverage for p in ledger.positions.values()), Decimal(0)
    )
    return {
        "cash": ledger.cash, "locked": locked, "realized": ledger.realized_pnl,
        "fees": ledger.fees_paid, "unrealized": unrealized, "equity": ledger.cash + unrealized,
    }  # fmt: skip


def money(snap: PortfolioSnapshot) -> dict[str, Any]:
    (usdt,) = snap.balances
    return {
        "cash": usdt.total, "locked": usdt.locked, "realized": snap.realized_pnl,
        "fees": snap.fees_paid, "unrealized": snap.unrealized_pnl, "equity": snap.equity,
    }  # fmt: skip


async def test_fills_are_booked_once_into_positions_balances_and_pnl(
    settings: PortfolioSettings, db: Any
) -> None:
    account = "acct-fills"
    await save_account(db, AccountConfig(account=account, cash=Decimal(5000), leverage=2))
    await db.deployments.insert_one({"_id": "dep-1", "account": account, "owner": "user-1"})
    fills = [
        fill(account, "BTCUSDT", "BUY", "2", "100", T0, "0.2"),  # entry
        fill(account, "BTCUSDT", "BUY", "2", "110", T0 + MIN, "0.22"),  # scale in: 4 @ 105
        fill(account, "BTCUSDT", "SELL", "1", "115", T0 + 2 * MIN, "0.115", reduce_only=True),
        fill(account, "BTCUSDT", "SELL", "5", "120", T0 + 3 * MIN, "0.6"),  # reversal: 2 short
    ]
    again = fills[1].model_copy(update={"event_id": fills[3].correlation_id})  # re-published
    async with running(settings):
        await publish(settings, *fills, fills[1], again)
        got = await snapshots(settings, len(fills))
        doc = await until(lambda: db.portfolios.find_one({"_id": account, "version": 4}))
        started = time.perf_counter()
        await publish(settings, fill(account, "ETHUSDT", "BUY", "1", "2000", T0 + 4 * MIN))
        await until(lambda: db.portfolios.find_one({"_id": account, "version": 5}))
        print(f"fill -> booked and visible: {1000 * (time.perf_counter() - started):.1f} ms")

    oracle = Ledger(cash=Decimal(5000))
    assert len(got) == len(fills), "a duplicate fill was booked or a snapshot is missing"
    for i, (f, snap) in enumerate(zip(fills, got, strict=False)):
        oracle.apply(f, leverage=2)
        assert (
            snap.event_id == fill_snapshot_id(account, f"paper:{f.trade_id}")
            and snap.event_time == f.event_time
        )
        assert money(snap) == expected(oracle, {"BTCUSDT": f.price}), f"after fill {i}"
        (pos,) = snap.positions
        book = oracle.positions["BTCUSDT"]
        assert (pos.side, pos.quantity, pos.average_entry, pos.mark_price) == (
            "LONG" if book.side > 0 else "SHORT", book.quantity, book.average_entry, f.price
        )  # fmt: skip
        assert pos.correlation_id == str(f.correlation_id) and pos.leverage == 2
    # by hand: fees 0.2 + 0.22 + 0.115 + 0.6; realised (115 - 105) x 1 + (120 - 105) x 3
    last = got[3]
    assert last.fees_paid == Decimal("1.135") and last.realized_pnl == Decimal(55)
    assert last.balances[0].total == 5000 + Decimal(55) - Decimal("1.135")
    assert got[2].positions[0].realized_pnl == Decimal(10)  # the partial exit
    assert last.positions[0].realized_pnl == 0 and last.positions[0].side == "SHORT"  # fresh
    assert last.positions[0].unrealized_pnl.as_tuple().sign == 0  # "0", not "-0"
    assert len(doc["seen"]) == 4 and doc["owner"] == "user-1"
    shown = public(doc)
    assert shown["equity"] == str(last.equity) and shown["updated_at"] == fills[3].event_time
    assert shown["positions"] == [p.model_dump(mode="json") for p in last.positions]
    times, values = curve_of(doc)
    assert times.tolist() == [f.event_time for f in fills]
    assert values.tolist() == [float(s.equity) for s in got[:4]]
    labels = {"service": "portfolio", "topic": f"{settings.topic_prefix}fills"}
    count = REGISTRY.get_sample_value("kwont_handler_seconds_count", labels)
    total = REGISTRY.get_sample_value("kwont_handler_seconds_sum", labels)
    assert count == len(fills) + 3 and total is not None  # with the two duplicates
    print(f"fill handler: mean {1000 * total / count:.2f} ms over {count:.0f} fills")


async def test_marks_revalue_the_holders_and_publish_at_most_once_per_interval(
    settings: PortfolioSettings, db: Any
) -> None:
    account = "acct-marks"
    btc = fill(account, "BTCUSDT", "BUY", "2", "100", T0, "0.2")
    c1 = candle("BTCUSDT", T0, 105.0, close=105.0)  # closes T0 + 59,999: newer than the fill
    c2 = candle("BTCUSDT", T0 + 500, 106.0, close=106.0)  # 500 ms later: stored, not published
    c3 = candle("BTCUSDT", T0 + MIN, 103.0, close=103.0)
    stale = candle("BTCUSDT", T0 - MIN, 50.0, close=50.0)  # closed before the fill
    eth_mark = candle("ETHUSDT", T0 + 3 * MIN, 2000.0, close=2000.0)
    eth = fill(account, "ETHUSDT", "BUY", "1", "1990", T0 + 2 * MIN, "1.99")  # older than its mark
    async with running(settings):
        await publish(settings, btc)
        await snapshots(settings, 1)
        await publish(settings, c1, c2, c3, stale, c3)
        await until(lambda: db.portfolios.find_one({"_id": account, "version": 4}))
        await snapshots(settings, 3)
        # the ETH candle and the fill that opens ETH race on two consumers
        await publish(settings, eth_mark, eth)
        doc = await until(lambda: db.portfolios.find_one({"_id": account, "version": 6}))
        got = await snapshots(settings, 5)

    oracle = Ledger(cash=Decimal(10_000))
    oracle.apply(btc)
    assert [money(s) for s in got[:3]] == [
        expected(oracle, {"BTCUSDT": p}) for p in (btc.price, Decimal(105), Decimal(103))
    ]
    assert got[2].positions[0].mark_price == Decimal(103)  # c2's 106 was never published
    oracle.apply(eth)
    final = expected(oracle, {"BTCUSDT": Decimal(103), "ETHUSDT": Decimal(2000)})
    assert len(got) == 5
    (revalued,) = [
        s
        for s in got
        if s.event_id == mark_snapshot_id(account, "ETHUSDT", mark_of_candle(eth_mark))
    ]
    assert money(revalued) == final and revalued.event_time == eth_mark.event_time
    assert doc["equity"] == str(final["equity"]) and doc["symbols"] == ["BTCUSDT", "ETHUSDT"]
    assert doc["marks"]["ETHUSDT"]["price"] == "2000.0"
    times, values = curve_of(doc)
    assert times.tolist() == [T0, c1.close_time, c2.close_time, c3.close_time,
                              eth.event_time, eth_mark.close_time]  # fmt: skip
    after_btc = Ledger(cash=Decimal(10_000))
    after_btc.apply(btc)
    assert values[2] == float(expected(after_btc, {"BTCUSDT": Decimal(106)})["equity"])
    assert values[-1] == float(final["equity"])


async def test_malformed_fills_candles_and_ticks_go_to_their_dead_letter_topics(
    settings: PortfolioSettings, db: Any
) -> None:
    settings = settings.model_copy(update={"marks_from_ticks": True})
    account = "acct-dlq"
    good = fill(account, "BTCUSDT", "BUY", "1", "100", T0)
    bnb_fee = fill(account, "BTCUSDT", "BUY", "1", "100", T0 + 1, fee_asset="BNB")
    bad_candle = {**json.loads(candle().model_dump_json()), "low": 500.0}
    tick = Tick(event_time=T0 + MIN + 5, source="t", symbol="BTCUSDT", price=102.5,
                quantity=0.1, trade_id=9)  # fmt: skip
    async with running(settings):
        await publish(
            settings,
            ("fills", b"\x00not json"),
            bnb_fee,
            ("candles", json.dumps(bad_candle).encode()),
            ("ticks", b'{"symbol": "BTCUSDT"}'),
            good,
        )
        await until(lambda: db.portfolios.find_one({"_id": account}))
        await publish(settings, candle("BTCUSDT", T0, 101.0, close=101.0), tick)
        # the tick is newer: whichever of the two comes first, the tick's price stays
        doc = await until(
            lambda: db.portfolios.find_one({"_id": account, "marks.BTCUSDT.price": "102.5"})
        )
    bootstrap, prefix = settings.kafka_bootstrap_servers, settings.topic_prefix
    letters = [
        DeadLetter.model_validate_json(v)
        for topic in ("fills", "candles", "ticks")
        for v in await read_topic(bootstrap, f"{prefix}{topic}.dlq", 1)
    ]
    assert [(d.original_topic.removeprefix(prefix), d.error_type) for d in letters] == [
        ("fills", "decode"), ("fills", "handler"), ("candles", "validation"),
        ("ticks", "validation"),
    ]  # fmt: skip
    assert "fee in BNB" in letters[1].error
    assert doc["seen"] == [f"paper:{good.trade_id}"] and doc["positions"][0]["quantity"] == "1"
    assert Decimal(doc["unrealized_pnl"]) == Decimal("2.5") and doc["version"] in (2, 3)


async def test_replicas_of_either_consumer_share_the_documents(
    kafka_bootstrap: str, mongo: Any, mongo_db: str, db: Any
) -> None:
    """Two services on the same topics and database (one group each, so every fill reaches
    both): each fill is still booked once."""
    first = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db)
    second = first.model_copy(update={"consumer_group": f"{first.consumer_group}-b"})
    fills: list[Fill] = [
        fill("acct-r", "BTCUSDT", "BUY" if i % 3 else "SELL", "1", str(100 + i), T0 + i)
        for i in range(30)
    ]
    async with running(first), running(second):
        await publish(first, *fills)
        doc = await until(lambda: db.portfolios.find_one({"_id": "acct-r", "version": 30}))
    oracle = Ledger(cash=Decimal(10_000))
    for f in fills:
        oracle.apply(f)
    assert doc["ledger"] == oracle.to_doc() and len(doc["seen"]) == 30
