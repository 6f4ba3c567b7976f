"""One live pipeline under measurement, for bench.pipeline and bench.scaling.

Topics and databases of its own, 20 symbols each with a paper deployment of
sma_cross(5, 20) on its own account (a trade every ten candles or so), the history stored
up front (consumers never read past the candle in hand, so the publisher's pace is the
broker's), strategy, risk, execution and portfolio as processes (``replicas`` of each of
the three trading services, in consumer groups of the run's own). :meth:`Run.publish`
sends candles round-robin over the symbols at a rate, like marketdata does, and returns
the latency of each signal fill: its ``stored_at`` (stamped when execution queues it for
its write-behind) minus the publish time of the candle whose close caused its signal, and
each process's CPU over the publishing window.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from bench.idle import children, cpu_seconds, process_tree
from kwont_common.events import Candle
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.settings import Settings
from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_common.trading.ids import signal_id
from kwont_devstack.mongo_users import APP_USER, MongoEndpoint, client
from kwont_devstack.servicerun import Pipeline
from kwont_marketdata import store
from kwont_marketdata.load import columns_of
from kwont_quant.synthetic import gbm_ohlcv

SYMBOLS = [f"B{i:02d}USDT" for i in range(20)]
WARM = 60
MINUTE = 60_000
TRADING = ("risk", "execution", "portfolio")


@dataclass
class Measured:
    """What one publishing window gave."""

    latencies: list[float]
    candles: int
    rate: float
    cpu: dict[str, float]  # cores per process over the window
    stages: dict[str, list[float]] = field(default_factory=dict)
    slowest: list[tuple[float, float, float, float, str]] = field(default_factory=list)


@dataclass
class Run:
    """A started pipeline and the cursor into its candle history."""

    pipeline: Pipeline
    db: Any
    history: dict[str, Any]
    producer: EventProducer
    engines: dict[str, int]
    step: int = WARM

    def processes(self) -> dict[str, list[int]]:
        """Each engine's and service process's pids (services with their children)."""
        tree = children()
        found = {name: [pid] for name, pid in self.engines.items()}
        for name, proc in self.pipeline.procs.items():
            found[name] = process_tree(proc.popen.pid, tree)
        found["bench publisher"] = [os.getpid()]
        return found

    async def publish(self, rate: float, count: int) -> Measured:
        """Publish ``count`` candles at ``rate`` a second, wait until they are through and
        measure their signal fills."""
        procs = self.processes()
        before = {n: {pid: cpu_seconds(pid) for pid in pids} for n, pids in procs.items()}
        published: dict[str, float] = {}
        started, k = time.perf_counter(), 0
        while k < count:
            for s in SYMBOLS:
                candle = candle_at(self.history[s], s, self.step)
                sid = signal_id(f"dep-{SYMBOLS.index(s)}", s, "1m", candle.open_time)
                published[str(sid)] = time.time() * 1000
                await self.producer.publish(candle)
                k += 1
                delay = started + k / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            self.step += 1
        spent = time.perf_counter() - started
        cpu = {
            n: sum(max(0.0, cpu_seconds(pid) - at) for pid, at in before[n].items()) / spent
            for n in procs
        }
        await self.drain()
        measured = Measured([], k, k / spent, cpu)
        await self._collect(published, measured)
        return measured

    async def drain(self, within_s: float = 20.0) -> None:
        """Wait until no consumer lags (at most ``within_s``), then a second more."""
        deadline = time.monotonic() + within_s
        await asyncio.sleep(1.0)
        while time.monotonic() < deadline:
            lag = await asyncio.to_thread(self.pipeline.lag)
            if lag == 0:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)

    async def _collect(self, published: dict[str, float], out: Measured) -> None:
        db = self.db
        signal_at = {d["_id"]: d["produced_at"] async for d in db.signals.find({}, ["produced_at"])}
        order_at = {d["_id"]: d["order"]["produced_at"]
                    async for d in db.risk_orders.find({}, ["order.produced_at"])}  # fmt: skip
        out.stages = {"strategy": [], "risk": [], "execution": []}
        query = {"exit_reason": {"$in": [None, "signal"]},
                 "correlation_id": {"$in": list(published)}}  # fmt: skip
        async for f in db.fills.find(query):
            signal, stored = str(f.get("correlation_id")), f.get("stored_at")
            sent = published.get(signal)
            if sent is None or not stored:
                continue
            total = float(stored) - sent
            out.latencies.append(total)
            s_at, o_at = signal_at.get(signal), order_at.get(f.get("client_order_id"))
            if s_at is not None and o_at is not None:
                parts = (s_at - sent, o_at - s_at, float(stored) - o_at)
                for stage, part in zip(out.stages, parts, strict=True):
                    out.stages[stage].append(part)
                leg = str(f.get("client_order_id", "?"))[:2]  # ke/kx: entry/closing order
                out.slowest.append((total, *parts, leg))
        out.slowest = sorted(out.slowest)[-5:]


@asynccontextmanager
async def started(
    kafka: str, endpoint: MongoEndpoint, work: Path, engines: dict[str, int],
    replicas: int = 1, steps: int = 400, env: dict[str, str] | None = None,
) -> AsyncIterator[Run]:  # fmt: skip
    """A pipeline with ``replicas`` of each trading service and ``steps`` candles of
    history per symbol, started and warmed up (two unmeasured rounds of candles, each
    drained: a deployment's first candle loads its window from the store, once per start;
    up to 1.4 s under load). ``env``: settings for every service, on top of the bench's."""
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
    history = {s: gbm_ohlcv(WARM + steps, seed=i, annual_vol=3.0) for i, s in enumerate(SYMBOLS)}
    for i, s in enumerate(SYMBOLS):
        await store.upsert(md, s, "1m", columns_of(history[s]), feed="synthetic")
        await save_account(db, AccountConfig(account=f"bench-{i}"))
        await db.deployments.insert_one({
            "_id": f"dep-{i}", "owner": "bench", "account": f"bench-{i}",
            "strategy": "sma_cross", "strategy_ref": {"name": "sma_cross", "builtin": True},
            "params": {"fast": 5, "slow": 20}, "symbols": [s], "interval": "1m",
            "venue": "paper", "status": "running", "created_at": 0,
        })  # fmt: skip
    p = Pipeline(kafka, endpoint, name, f"{name}_md", f"{name}.", work / name)
    p.group_prefix = name  # groups of its own: no join waits on an earlier run's members
    p.logs.mkdir(parents=True)
    p.env = {"KWONT_LOG_LEVEL": "WARNING", "KWONT_DEPLOYMENTS_REFRESH_S": "0.5", **(env or {})}
    services = ["strategy", *TRADING]
    services += [f"{svc}.{n}" for n in range(2, replicas + 1) for svc in TRADING]
    producer = EventProducer(settings)
    producing = False
    try:
        for svc in services:
            p.start(svc)
        for svc in services:
            await asyncio.to_thread(p.wait_ready, svc, 150)
        await producer.start()
        producing = True
        await asyncio.sleep(2.0)  # consumer groups settle
        run = Run(p, db, history, producer, engines, step=WARM)
        for _ in range(2):  # the unmeasured rounds: windows loaded, connections open
            for s in SYMBOLS:
                await producer.publish(candle_at(history[s], s, run.step))
            run.step += 1
            await run.drain()
        yield run
    finally:
        if producing:
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


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank; nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
