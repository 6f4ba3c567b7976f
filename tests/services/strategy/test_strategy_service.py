"""The strategy service on real Kafka and MongoDB: deployments in Mongo, candles stored then
published, signals on the topic equal to the backtest's reading of the same candles;
start/stop/change without a restart; redelivery; a failing strategy; dead letters."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import pytest

from kwont_common.events import DeadLetter, Signal
from kwont_common.kafka import EventProducer
from kwont_common.trading.ids import signal_id
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant.synthetic import gbm_ohlcv
from tests.libs.common.kafka_helpers import read_all
from tests.services.strategy.helpers import (
    ALWAYS_LONG,
    BOOM,
    SignalReader,
    deployment_doc,
    events_of,
    expected,
    mongo_for,
    next_refresh,
    publish_stored,
    running,
    settings_for,
    store_candles,
    upload,
)

pytestmark = pytest.mark.integration
HISTORY = 200
SMA1 = {"fast": 3, "slow": 8}
SMA2 = {"fast": 2, "slow": 5}


def by_deployment(seen: list[Signal], dep_id: str) -> dict[int, Signal]:
    return {s.candle_open_time: s for s in seen if s.deployment_id == dep_id}


def covers(dep_id: str, times: list[int]) -> Callable[[list[Signal]], bool]:
    """Done when ``dep_id`` (the every-bar sentinel) has a signal on each of ``times``: all
    earlier candles were handled (one partition: in order) and their signals published."""
    return lambda seen: set(times) <= set(by_deployment(seen, dep_id))


async def test_deployments_trade_like_the_backtest_and_follow_changes_without_restart(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, unique_name: str
) -> None:
    settings = settings_for(kafka_bootstrap, mongo.app_uri, mongo_db, unique_name)
    m = mongo_for(settings)
    db = m.write
    bars = gbm_ohlcv(HISTORY + 60, seed=9, annual_vol=3.0)
    events = events_of("BTCUSDT", bars)
    live = events[HISTORY:]
    times = [c.open_time for c in live]
    await store_candles(db, events[:HISTORY])

    always = await upload(db, "alice", ALWAYS_LONG)
    boom = await upload(db, "bob", BOOM)
    sma = deployment_doc("alice", "acct-sma", "sma_cross", SMA1, ["BTCUSDT"])
    sentinel = deployment_doc("alice", "acct-all", always["name"], {}, ["BTCUSDT"],
                              strategy_ref=always)  # fmt: skip
    failing = deployment_doc("bob", "acct-boom", boom["name"], {}, ["BTCUSDT"], strategy_ref=boom)
    await db.deployments.insert_many([sma, sentinel, failing])

    async with running(settings) as [svc], SignalReader(settings) as reader:
        # 1. Twenty candles: the signals are the backtest's, a raising strategy harms no one.
        await publish_stored(settings, db, live[:20])
        seen = await reader.until(covers(sentinel["_id"], times[:20]))
        want = expected("sma_cross", SMA1, bars[: HISTORY + 20], HISTORY)
        got = by_deployment(seen, sma["_id"])
        assert {t: (s.action, s.exit_side) for t, s in got.items()} == want
        assert len(want) >= 3, "the data should make sma_cross trade"
        for t, s in got.items():
            candle = live[times.index(t)]
            assert s.event_id == s.correlation_id == signal_id(sma["_id"], "BTCUSDT", "1m", t)
            assert s.reference_price == candle.close and s.event_time == candle.close_time
            assert s.account == "acct-sma" and s.venue == "paper" and s.strategy == "sma_cross"
        entry = by_deployment(seen, sentinel["_id"])[times[0]]
        assert entry.action == "enter_long" and entry.size_hint == 0.5
        assert entry.stop_loss_pct == 0.02 and entry.take_profit_pct == 0.05
        assert entry.stop_loss == pytest.approx(live[0].close * 0.98)
        assert entry.take_profit == pytest.approx(live[0].close * 1.05)
        assert not by_deployment(seen, failing["_id"])
        doc = await db.deployments.find_one({"_id": failing["_id"]})
        assert "boom in user code" in doc["last_error"]
        stored = await db.signals.find_one({"_id": str(entry.event_id)})
        assert stored["owner"] == "alice" and stored["deployment_id"] == sentinel["_id"]
        count = await db.signals.count_documents({})
        assert count == len(seen)

        # 2. Redelivery of an older candle and of the newest: the very same signals again.
        older = next(t for t in sorted(got) if t < times[19])
        await publish_stored(settings, db, [live[times.index(older)], live[19]])
        seen = await reader.until(lambda s: len(s) >= count + 3 + (times[19] in got))
        first_copy = {s.event_id: s for s in seen[:count]}
        for s in seen[count:]:
            assert s == first_copy[s.event_id], "a redelivered candle gave a different signal"
        assert {s.candle_open_time for s in seen[count:]} == {older, times[19]}
        assert await db.signals.count_documents({}) == count

        # 3. New params take effect without a restart; a skipped candle (stored, never
        #    published: a gap) reloads the window from the store.
        await db.deployments.update_one({"_id": sma["_id"]}, {"$set": {"params": SMA2}})
        await next_refresh(svc.engine)
        reloads = svc.engine.windows.reloads
        published = [c for c in live[20:40] if c is not live[25]]
        await store_candles(db, [live[25]])
        await publish_stored(settings, db, published)
        seen = await reader.until(covers(sentinel["_id"], [c.open_time for c in published]))
        want = expected("sma_cross", SMA2, bars[: HISTORY + 40], HISTORY + 20)
        want.pop(times[25], None)
        got = {t: s for t, s in by_deployment(seen, sma["_id"]).items() if t >= times[20]}
        assert {t: (s.action, s.exit_side) for t, s in got.items()} == want
        assert svc.engine.windows.reloads == reloads + 1

        # 4. Stopped: no more signals, still without a restart.
        await db.deployments.update_one({"_id": sma["_id"]}, {"$set": {"status": "stopped"}})
        await next_refresh(svc.engine)
        await publish_stored(settings, db, live[40:50])
        seen = await reader.until(covers(sentinel["_id"], times[40:50]))
        assert not [t for t in by_deployment(seen, sma["_id"]) if t >= times[40]]
        assert expected("sma_cross", SMA2, bars[: HISTORY + 50], HISTORY + 40), (
            "the stopped deployment would have traded on these candles"
        )

        # 5. A malformed candle goes to candles.dlq; the service carries on.
        producer = EventProducer(settings)
        await producer.start()
        await producer.send_raw(f"{settings.topic_prefix}candles", b"BTCUSDT:1m", b"{not json")
        await producer.stop()
        await publish_stored(settings, db, live[50:52])
        await reader.until(covers(sentinel["_id"], times[50:52]))
        [letter] = await read_all(kafka_bootstrap, f"{settings.topic_prefix}candles.dlq", 1)
        assert base64.b64decode(DeadLetter.model_validate_json(letter).payload_b64) == (
            b"{not json"
        )
        assert not svc.task.done()
    await m.close()


async def test_long_only_deployment_exits_instead_of_shorting(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, unique_name: str
) -> None:
    settings = settings_for(kafka_bootstrap, mongo.app_uri, mongo_db, unique_name)
    m = mongo_for(settings)
    db = m.write
    bars = gbm_ohlcv(HISTORY + 30, seed=9, annual_vol=3.0)
    events = events_of("ETHUSDT", bars)
    await store_candles(db, events[:HISTORY])
    dep = deployment_doc("carol", "acct-long", "sma_cross", SMA1, ["ETHUSDT"], long_only=True)
    both = deployment_doc("carol", "acct-both", "sma_cross", SMA1, ["ETHUSDT"])
    await db.deployments.insert_many([dep, both])
    want = expected("sma_cross", SMA1, bars, HISTORY, allow_short=False)
    want_both = expected("sma_cross", SMA1, bars, HISTORY)
    assert any(a == "enter_short" for a, _ in want_both.values()), "data should go short"
    async with running(settings), SignalReader(settings) as reader:
        await publish_stored(settings, db, events[HISTORY:])
        seen = await reader.until(lambda s: len(s) >= len(want) + len(want_both))
        await asyncio.sleep(0.3)  # nothing more may come
        got = by_deployment(seen, dep["_id"])
        assert {t: (s.action, s.exit_side) for t, s in got.items()} == want
        assert len(seen) == len(want) + len(want_both)
    await m.close()
