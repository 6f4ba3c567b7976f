"""Ticks into candles on the broker: a kill -9 in the middle of a window rebuilds exactly
the same candles (the committed offset stops at the oldest open window's first trade)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from kwont_common.events import Candle, DeadLetter, Tick
from kwont_common.kafka import EventProducer
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_marketdata import store
from kwont_marketdata.aggregate import aggregate
from kwont_marketdata.settings import MarketdataSettings
from tests.libs.common.kafka_helpers import read_all, wait_for
from tests.services.marketdata.live import live_settings, market_db, read_candles
from tests.services.marketdata.vendors import MINUTE, T0

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def trades(symbol: str, window: int, n: int, seed: int, first_id: int) -> list[Tick]:
    rng = np.random.default_rng(seed)
    times = np.sort(T0 + window * MINUTE + rng.integers(0, MINUTE, n))
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    return [
        Tick(event_time=int(t), source="test", symbol=symbol, price=float(p),
             quantity=float(rng.uniform(0.1, 3)), trade_id=first_id + i)
        for i, (t, p) in enumerate(zip(times, prices, strict=True))
    ]  # fmt: skip


def start(settings: MarketdataSettings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "KWONT_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KWONT_KAFKA_IDEMPOTENCE": "false", "KWONT_TOPIC_PREFIX": settings.topic_prefix,
        "KWONT_CONSUMER_GROUP": settings.group_id, "KWONT_MONGO_URI": settings.mongo_uri,
        "KWONT_MONGO_DATABASE": settings.mongo_database,
        "KWONT_MONGO_MARKET_DATABASE": settings.mongo_market_database,
        "KWONT_METRICS_PORT": "0", "KWONT_SYMBOLS_REFRESH_S": "0", "KWONT_FEED": "none",
        "KWONT_TICK_CANDLE_INTERVALS": "1m", "KWONT_LOG_JSON": "false",
    }  # fmt: skip
    return subprocess.Popen([BIN / "kwont-marketdata"], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)  # fmt: skip


async def committed(settings: MarketdataSettings) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=f"{settings.group_id}-tick-candles",
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(f"{settings.topic_prefix}ticks", 0))
    finally:
        await consumer.stop()


async def publish(settings: MarketdataSettings, ticks: list[Tick], raw: bytes = b"") -> None:
    producer = EventProducer(settings)
    await producer.start()
    try:
        for t in ticks:
            await producer.publish(t)
        if raw:
            await producer.send_raw(f"{settings.topic_prefix}ticks", b"BTCUSDT", raw)
    finally:
        await producer.stop()


async def test_kill_in_the_middle_of_a_window_rebuilds_the_same_candles(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, tmp_path: Path
) -> None:
    settings = await live_settings(kafka_bootstrap, mongo, mongo_db, partitions=1)
    a0, b0 = trades("BTCUSDT", 0, 40, 1, 0), trades("ETHUSDT", 0, 40, 2, 0)
    a1, b1 = trades("BTCUSDT", 1, 40, 3, 100), trades("ETHUSDT", 1, 40, 4, 100)
    a2, b2 = trades("BTCUSDT", 2, 1, 5, 200), trades("ETHUSDT", 2, 1, 6, 200)
    # One partition, symbols interleaved so that after the kill the replay (from BTCUSDT's
    # open window) re-reads the tail of ETHUSDT's window 0, which was already emitted.
    first = [*a0, *b0[:10], *a1[:20], *b0[10:], *b1[:20]]
    await publish(settings, first)
    log = tmp_path / "marketdata.log"
    proc = start(settings, log)
    try:
        await read_candles(settings, 2, timeout=40)  # both window-0 candles
        # Everything up to here is handled; the commit stops at BTCUSDT's window-1 start.
        await wait_for(lambda: _equals(committed(settings), len(a0) + 10), timeout=20)
    finally:
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 20)

    await publish(settings, [*a1[20:], *b1[20:], *a2, *b2], raw=b"{not a tick")
    proc = start(settings, log)
    try:
        letters = await read_all(kafka_bootstrap, f"{settings.topic_prefix}ticks.dlq", 1, 40)
        letter = DeadLetter.model_validate_json(letters[0])
        assert base64.b64decode(letter.payload_b64) == b"{not a tick"
        assert letter.error_type == "decode"
        seen: list[Candle] = []

        async def both_window_1() -> bool:
            seen[:] = await read_candles(settings, len(seen) + 1, timeout=5)
            return {(c.symbol, c.open_time) for c in seen} >= {
                ("BTCUSDT", T0 + MINUTE),
                ("ETHUSDT", T0 + MINUTE),
            }

        await wait_for(both_window_1, timeout=40)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0, log.read_text()[-3000:]

    expected = {}
    for symbol, ticks in (("BTCUSDT", [*a0, *a1, *a2]), ("ETHUSDT", [*b0, *b1, *b2])):
        cols = aggregate(
            "1m",
            np.array([t.event_time for t in ticks]),
            np.array([t.price for t in ticks]),
            np.array([t.quantity for t in ticks]),
        )
        for i in range(2):  # window 2 is still open
            key = (symbol, int(cols["open_time"][i]))
            expected[key] = {k: float(v[i]) for k, v in cols.items()}
    by_id: dict[object, Candle] = {}
    for c in seen:
        if c.event_id in by_id:  # a copy (the restart re-publishes the last stored candle)
            assert c.model_dump(exclude={"produced_at"}) == by_id[c.event_id].model_dump(
                exclude={"produced_at"}
            ), "a candle was published twice with different data"
        by_id[c.event_id] = c
    assert {(c.symbol, c.open_time) for c in by_id.values()} == set(expected)
    conn, db = market_db(settings)
    for c in by_id.values():
        want = expected[(c.symbol, c.open_time)]
        got = {"open_time": c.open_time, "open": c.open, "high": c.high, "low": c.low,
               "close": c.close, "trades": c.trades}  # fmt: skip
        assert got == {k: want[k] for k in got}, (c.symbol, c.open_time)
        assert c.volume == pytest.approx(want["volume"], rel=1e-12)
        stored = await store.read_range(db, c.symbol, "1m", c.open_time, c.open_time + 1)
        assert stored["close"].tolist() == [c.close] and stored["trades"].tolist() == [c.trades]
    await conn.close()


async def _equals(value: object, expected: int) -> bool:
    return await value == expected  # type: ignore[misc]
