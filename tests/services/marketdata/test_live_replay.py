"""Replay: stored or CSV candles onto `candles`, in a fixed order, at a chosen speed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_marketdata import replay, store
from kwont_marketdata.load import synthetic_columns
from tests.services.marketdata.live import live_settings, market_db, outlet, read_candles
from tests.services.marketdata.vendors import MINUTE, T0, klines

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


async def test_stored_candles_replay_in_time_then_symbol_order_with_repeatable_ids(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str
) -> None:
    settings = await live_settings(kafka_bootstrap, mongo, mongo_db)
    conn, db = market_db(settings)
    await store.ensure_indexes(db)
    stored = {}
    for sym, price in (("ETHUSDT", 2300.0), ("BTCUSDT", 42000.0)):
        stored[sym] = synthetic_columns(sym, T0, 1, "1m", price, seed=1)
        await store.upsert(db, sym, "1m", stored[sym], feed="synthetic")
    start, end = T0 + 10 * MINUTE, T0 + 16 * MINUTE  # 6 candles of each symbol
    async with outlet(settings) as out:
        n = await replay.replay(settings, out.producer, db, ["ETHUSDT", "btcusdt"], "1m",
                                start, end, speed=0)  # fmt: skip
        assert n == 12
        first = await read_candles(settings, 12)
        assert [(c.open_time, c.symbol) for c in first] == [
            (t, s) for t in range(start, end, MINUTE) for s in ("BTCUSDT", "ETHUSDT")
        ]
        for c in first:
            i = int(np.searchsorted(stored[c.symbol]["open_time"], c.open_time))
            row = {k: float(v[i]) for k, v in stored[c.symbol].items()}
            assert (c.open, c.high, c.low, c.close, c.volume) == (
                row["open"],
                row["high"],
                row["low"],
                row["close"],
                row["volume"],
            )
            assert c.feed == "replay" and c.key() == f"{c.symbol}:1m"
            assert c.close_time == c.open_time + MINUTE - 1

        # Again, paced: 3 candles at 240x real time are 0.25 s apart; the same events again.
        started = time.monotonic()
        assert await replay.replay(settings, out.producer, db, ["BTCUSDT"], "1m",
                                   start, start + 3 * MINUTE, speed=240) == 3  # fmt: skip
        assert time.monotonic() - started >= 0.45
    again = (await read_candles(settings, 15))[12:]
    assert [c.event_id for c in again] == [c.event_id for c in first if c.symbol == "BTCUSDT"][:3]
    async with outlet(settings) as out:
        # A named replay resumes: stopped after 2 of 6, it goes on from the second.
        halt = asyncio.Event()
        sent = 0

        async def stop_after_two() -> None:
            nonlocal sent
            while await db[replay.PROGRESS].count_documents({"_id": "job"}) == 0:
                await asyncio.sleep(0.01)
            halt.set()

        stopper = asyncio.create_task(stop_after_two())
        sent = await replay.replay(settings, out.producer, db, ["BTCUSDT"], "1m",
                                   start, end, speed=60, stop=halt, progress="job")  # fmt: skip
        await stopper
        assert 1 <= sent < 6
        rest = await replay.replay(settings, out.producer, db, ["BTCUSDT"], "1m",
                                   start, end, speed=0, progress="job")  # fmt: skip
        assert rest == 6 - sent + 1  # the last one recorded is published again
    await conn.close()


async def test_cli_replays_a_binance_csv_and_stores_it_first(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, tmp_path: Path
) -> None:
    settings = await live_settings(kafka_bootstrap, mongo, mongo_db)
    rows = klines(30)
    csv = tmp_path / "SOLUSDT-1m-2024-01.csv"
    csv.write_text("".join(",".join(str(v) for v in r) + "\n" for r in rows))
    env = {
        **os.environ, "KWONT_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KWONT_KAFKA_IDEMPOTENCE": "false", "KWONT_TOPIC_PREFIX": settings.topic_prefix,
        "KWONT_MONGO_URI": mongo.app_uri, "KWONT_MONGO_MARKET_DATABASE": mongo_db,
    }  # fmt: skip
    args = ["replay", "--csv", str(csv), "--interval", "1m", "--start", str(T0 + 5 * MINUTE),
            "--end", "2024-01-01T00:25:00", "--speed", "0"]  # fmt: skip
    done = await asyncio.to_thread(subprocess.run, [BIN / "kwont-marketdata", *args], env=env,
                                   capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "20 candles replayed" in done.stderr
    published = await read_candles(settings, 20)
    assert [c.open_time for c in published] == [r[0] for r in rows[5:25]]
    assert [c.close for c in published] == [float(r[4]) for r in rows[5:25]]
    conn, db = market_db(settings)
    whole = await store.read_range(db, "SOLUSDT", "1m", T0, T0 + 60 * MINUTE)
    assert len(whole["open_time"]) == 30  # the whole file is stored, the range replayed
    np.testing.assert_array_equal(whole["close"], [float(r[4]) for r in rows])
    await conn.close()

    bad = await asyncio.to_thread(subprocess.run, [BIN / "kwont-marketdata", "replay",
                                  "--interval", "1m"], env=env, capture_output=True, text=True,
                                  timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "--symbol" in bad.stderr
