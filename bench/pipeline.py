"""Live pipeline latency: a closed candle published to its paper fill stored.

Starts its own engines (tansu, SecantusDB) and strategy, risk, execution and portfolio as
processes; 20 symbols, each with a paper deployment of sma_cross(5, 20) on its own account
(a trade every ten candles or so). Candles are stored then published like marketdata does,
round-robin over the symbols (the history is stored up front), for ``BENCH_PIPELINE_S``
seconds (default 20): first at 20 candles per second, the latency when the machine is not
saturated, then at the target's 100 candles per second (in this order: a saturated run
leaves the database busy for a while and would spoil the quieter one). Latency of a fill =
its ``stored_at`` in ``fills`` minus the publish time of the candle whose close caused its signal
(signal-driven fills only; a stop's fill is caused by the next candle). Target: p99 under 50 ms.

One round of candles (one per symbol) goes out first and is not measured: a deployment's
first candle loads its window from the store and the services open their connections, a
cost paid once per start (measured: up to 0.35 s for the first round), not per candle.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from bench.engines import kafka_and_mongo
from kwont_common.events import Candle
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.settings import Settings
from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_common.trading.ids import signal_id
from kwont_devstack.mongo_users import APP_USER, client
from kwont_devstack.servicerun import Pipeline
from kwont_marketdata import store
from kwont_marketdata.load import columns_of
from kwont_quant.synthetic import gbm_ohlcv

HOST = "127.0.0.1"
SYMBOLS = [f"B{i:02d}USDT" for i in range(20)]
# BENCH_PIPELINE_RATES=5 for the demo's pace (the idle cost's latency check, bench/idle.py)
RATES = tuple(float(r) for r in os.environ.get("BENCH_PIPELINE_RATES", "20,100").split(","))
SECONDS = float(os.environ.get("BENCH_PIPELINE_S", "20"))
WARM = 60
MINUTE = 60_000


async def _run(
    kafka: str, endpoint: Any, work: Path, rate_wanted: float
) -> tuple[list[float], int, float]:
    name = f"bench{uuid.uuid4().hex[:6]}"
    settings = Settings(kafka_bootstrap_servers=kafka, topic_prefix=f"{name}.",
                        kafka_idempotence=False, topic_partitions=3,
                        mongo_uri=endpoint.app_uri, service_name="bench")  # fmt: skip
    await ensure_topics(settings)
    with client(endpoint.admin_uri) as admin:
        roles = [{"role": "readWrite", "db": d} for d in (name, f"{name}_md")]
        admin.admin.command("grantRolesToUser", APP_USER, roles=roles)
    conn: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoint.app_uri)
    db, md = conn[name], conn[f"{name}_md"]
    await store.ensure_indexes(md)
    steps = WARM + int(SECONDS * rate_wanted / len(SYMBOLS)) + 5
    history = {s: gbm_ohlcv(steps, seed=i, annual_vol=3.0) for i, s in enumerate(SYMBOLS)}
    for i, s in enumerate(SYMBOLS):
        # the whole history up front (consumers never read past the candle in hand), so the
        # publisher's pace is the broker's, not the store's
        await store.upsert(md, s, "1m", columns_of(history[s][:steps]), feed="synthetic")
        await save_account(db, AccountConfig(account=f"bench-{i}"))
        await db.deployments.insert_one({
            "_id": f"dep-{i}", "owner": "bench", "account": f"bench-{i}",
            "strategy": "sma_cross", "strategy_ref": {"name": "sma_cross", "builtin": True},
            "params": {"fast": 5, "slow": 20}, "symbols": [s], "interval": "1m",
            "venue": "paper", "status": "running", "created_at": 0,
        })  # fmt: skip
    p = Pipeline(kafka, endpoint, name, f"{name}_md", f"{name}.", work / name)
    p.logs.mkdir(parents=True)
    p.env = {
        "KWONT_LOG_LEVEL": "WARNING",
        "KWONT_DEPLOYMENTS_REFRESH_S": "0.5",
    }
    services = ("strategy", "risk", "execution", "portfolio")
    for svc in services:
        p.start(svc)
    for svc in services:
        p.wait_ready(svc)
    producer = EventProducer(settings)
    await producer.start()
    published: dict[str, float] = {}
    try:
        await asyncio.sleep(2.0)  # consumer groups settle
        for s in SYMBOLS:  # the unmeasured first round (see the module's docstring)
            await producer.publish(candle_at(history[s], s, WARM))
        await asyncio.sleep(2.0)
        started = time.perf_counter()
        k = 0
        for step in range(WARM + 1, steps):
            for s in SYMBOLS:
                candle = candle_at(history[s], s, step)
                sid = signal_id(f"dep-{SYMBOLS.index(s)}", s, "1m", candle.open_time)
                published[str(sid)] = time.time() * 1000
                await producer.publish(candle)
                k += 1
                delay = started + k / rate_wanted - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if time.perf_counter() - started > SECONDS:
                break
        rate = k / (time.perf_counter() - started)
        await asyncio.sleep(5.0)  # let the last ones through
        spent = []
        for svc, base in (("strategy", "candles"), ("risk", "signals"), ("risk", "fills"),
                          ("risk", "portfolio-snapshots"), ("execution", "orders"),
                          ("execution", "candles"), ("portfolio", "fills"),
                          ("portfolio", "candles")):  # fmt: skip
            label = f'topic="{name}.{base}"'
            count = p.metric(svc, "kwont_handler_seconds_count", label)
            total = p.metric(svc, "kwont_handler_seconds_sum", label)
            if count:
                spent.append(f"{svc}/{base} {count:.0f}x{1000 * total / count:.1f}")
        print("  handlers (count x mean ms): " + "  ".join(spent))
        latencies = []
        stages: dict[str, list[float]] = {"strategy": [], "risk": [], "execution": []}
        slowest: list[tuple[float, float, float, float, str]] = []
        signal_at = {d["_id"]: d["produced_at"] async for d in db.signals.find({}, ["produced_at"])}
        order_at = {d["_id"]: d["order"]["produced_at"]
                    async for d in db.risk_orders.find({}, ["order.produced_at"])}  # fmt: skip
        async for f in db.fills.find({"exit_reason": {"$in": [None, "signal"]}}):
            signal = str(f.get("correlation_id"))
            sent = published.get(signal)
            if sent is None or not f.get("stored_at"):
                continue
            latencies.append(float(f["stored_at"]) - sent)
            s_at, o_at = signal_at.get(signal), order_at.get(f.get("client_order_id"))
            if s_at is not None and o_at is not None:
                stages["strategy"].append(s_at - sent)
                stages["risk"].append(o_at - s_at)
                stages["execution"].append(float(f["stored_at"]) - o_at)
                leg = str(f.get("client_order_id", "?"))[:2]  # ke/kx: entry/closing order
                slowest.append((float(f["stored_at"]) - sent, s_at - sent, o_at - s_at,
                                float(f["stored_at"]) - o_at, leg))  # fmt: skip
        print(
            "  stage p50/p99 ms: "
            + "  ".join(
                f"{k} {_pct(v, 0.5):.0f}/{_pct(v, 0.99):.0f}" for k, v in stages.items() if v
            )
        )
        # where the tail comes from: the slowest fills, stage by stage
        print("  slowest fills ms (total = strategy + risk + execution, leg): " + "  ".join(
            f"{t:.0f}={a:.0f}+{b:.0f}+{c:.0f} {leg}" for t, a, b, c, leg in sorted(slowest)[-5:]
        ))  # fmt: skip
        return latencies, k, rate
    finally:
        await producer.stop()
        p.stop_all()
        await conn.close()


def candle_at(c: Any, symbol: str, step: int) -> Candle:
    """The closed 1m candle ``step`` of ``symbol``'s history columns ``c``."""
    t = int(c.open_time_ms[step])
    return Candle(
        event_time=t + MINUTE - 1, source="bench", symbol=symbol, interval="1m",
        open_time=t, close_time=t + MINUTE - 1, open=float(c.open[step]),
        high=float(c.high[step]), low=float(c.low[step]),
        close=float(c.close[step]), volume=float(c.volume[step]), feed="synthetic",
    )  # fmt: skip


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Start the engines and services, publish candles at each rate and print the candle-to-
    fill latencies."""
    work = Path(tempfile.mkdtemp(prefix="kwont-bench-pipe-"))
    keep = False  # the engines' data and the services' logs, kept only when a run failed
    try:
        with kafka_and_mongo(work) as (kafka, endpoint):
            for wanted in RATES:
                lat, n, rate = asyncio.run(_run(kafka, endpoint, work, wanted))
                if not lat:
                    keep = True
                    print("bench.pipeline: no fills measured; see the logs in", work)
                    continue
                p50, p90, p99 = statistics.median(lat), _pct(lat, 0.9), _pct(lat, 0.99)
                print(f"candle published -> paper fill stored; {n} candles at {rate:.0f}/s "
                      f"over {len(SYMBOLS)} symbols, {len(lat)} signal fills:")  # fmt: skip
                print(f"  p50 {p50:.1f} ms  p90 {p90:.1f} ms  p99 {p99:.1f} ms"
                      f"  max {max(lat):.1f} ms  (p99/50 ms target: {p99 / 50:.2f})")  # fmt: skip
    except BaseException:
        keep = True
        print("bench.pipeline failed; the engines' data and the logs are in", work)
        raise
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
