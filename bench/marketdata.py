"""Marketdata throughput: trades turned into candles per second by one process.

Rows: the pure aggregator (``kwont_marketdata.aggregate.CandleBuilder``, one trade at a
time, as the consumer runs it; and the vectorised ``aggregate`` over whole arrays), then
the Kafka path: ``BENCH_TICKS`` (default 200,000) trades of 20 symbols are published to
``ticks`` first, then one ``TickCandles`` consumer (decode, aggregate, store and publish
each closed candle, commit) is timed from its first trade to its last. Starts its own
engines (tansu, SecantusDB). Target: at least 20,000 trades per second.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from aiokafka import AIOKafkaProducer

from bench.engines import kafka_and_mongo
from kwont_common.events import Tick
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.mongo import Mongo
from kwont_marketdata import store
from kwont_marketdata.aggregate import CandleBuilder, aggregate
from kwont_marketdata.settings import MarketdataSettings
from kwont_marketdata.tick_candles import TickCandles

HOST = "127.0.0.1"
N_TICKS = int(os.environ.get("BENCH_TICKS", "200000"))
N_PURE = 1_000_000
SYMBOLS = [f"SYM{i:02d}USDT" for i in range(20)]
T0 = 1_704_067_200_000
TARGET = 20_000.0


def trades(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` trades round-robin over the symbols, 50 ms apart per symbol: (symbol index,
    time, price, quantity)."""
    rng = np.random.default_rng(seed)
    sym = np.arange(n) % len(SYMBOLS)
    times = T0 + (np.arange(n) // len(SYMBOLS)) * 50 + rng.integers(0, 50, n)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 1e-4, n)))
    return sym, times, prices, rng.uniform(0.01, 2.0, n)


def pure_rows() -> list[tuple[str, int, float]]:
    """(path, closed candles, seconds) of the pure aggregator for one and for three intervals."""
    sym, times, prices, qty = trades(N_PURE)
    names = [SYMBOLS[i] for i in sym]
    t_list, p_list, q_list = times.tolist(), prices.tolist(), qty.tolist()
    rows = []
    for intervals in (("1m",), ("1m", "5m", "1h")):
        builder = CandleBuilder(intervals)
        add = builder.add
        started = time.perf_counter()
        closed = 0
        for i in range(N_PURE):
            closed += len(add(names[i], t_list[i], p_list[i], q_list[i], i))
        elapsed = time.perf_counter() - started
        rows.append((f"CandleBuilder, {'+'.join(intervals)}", closed, elapsed))
    started = time.perf_counter()
    closed = 0
    for s in range(len(SYMBOLS)):
        mine = sym == s
        closed += len(aggregate("1m", times[mine], prices[mine], qty[mine])["open_time"])
    rows.append(("aggregate() numpy, 1m", closed, time.perf_counter() - started))
    return rows


async def kafka_row(bootstrap: str, mongo_uri: str) -> tuple[str, int, float, float]:
    """(path, candles, seconds, join seconds) of the service turning ticks on Kafka into stored
    candles."""
    settings = MarketdataSettings(
        service_name="marketdata", kafka_bootstrap_servers=bootstrap, kafka_idempotence=False,
        mongo_uri=mongo_uri, topic_partitions=3,
        topic_prefix="bench.", tick_candle_intervals="1m", log_json=False,
    )  # fmt: skip
    await ensure_topics(settings, ["bench.ticks", "bench.ticks.dlq", "bench.candles"])
    sym, times, prices, qty = trades(N_TICKS, seed=2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5,
                                max_batch_size=1 << 20, acks=1)  # fmt: skip
    await producer.start()
    pending = []
    for i in range(N_TICKS):
        tick = Tick(event_time=int(times[i]), source="bench", symbol=SYMBOLS[sym[i]],
                    price=float(prices[i]), quantity=float(qty[i]), trade_id=i)  # fmt: skip
        pending.append(await producer.send(
            "bench.ticks", tick.model_dump_json().encode(), key=tick.key().encode()))  # fmt: skip
    await asyncio.gather(*pending)
    await producer.stop()

    mongo = Mongo.connect(settings)
    await store.ensure_indexes(mongo.market_write)
    out = EventProducer(settings)
    await out.start()
    consumer = TickCandles(settings, out, mongo.market_write)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run(stop))
    while consumer.handled == 0:  # noqa: ASYNC110 - polling the counter is the measurement
        await asyncio.sleep(0.005)
    first = time.perf_counter()
    while consumer.handled < N_TICKS:
        await asyncio.sleep(0.005)
        if task.done():
            task.result()
    done = time.perf_counter()
    stop.set()
    await task
    await out.stop()
    candles = sum(d["count"] for d in await mongo.market_write[store.COLLECTION].find(
        {}, {"count": 1}).to_list(None))  # fmt: skip
    await mongo.close()
    return "ticks topic -> candles (consumer)", candles, done - first, first - started


def main() -> None:
    """Print the trades-per-second table: the pure aggregator, then the service over Kafka."""
    print(f"marketdata: trades turned into candles by one process (target {TARGET:,.0f}/s)")
    print(f"  {'path':<38} {'trades':>10} {'candles':>8} {'seconds':>8} {'trades/s':>11}")
    for name, closed, seconds in pure_rows():
        print(f"  {name:<38} {N_PURE:>10,} {closed:>8,} {seconds:>8.2f} {N_PURE / seconds:>11,.0f}")
    work = Path(tempfile.mkdtemp(prefix="kwont-bench-md-"))
    try:
        with kafka_and_mongo(work) as (kafka, endpoint):
            name, candles, seconds, join = asyncio.run(kafka_row(kafka, endpoint.app_uri))
        rate = N_TICKS / seconds
        verdict = "meets" if rate >= TARGET else "misses"
        print(
            f"  {name:<38} {N_TICKS:>10,} {candles:>8,} {seconds:>8.2f} {rate:>11,.0f}"
            f"  ({verdict} the target; group join before the first trade {join:.1f} s)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
