"""Helpers of the strategy service tests (not tests themselves): market data stored the way
marketdata stores it, deployments written the way the gateway writes them, the service run
in-process, and the backtest's own reading of the same candles as the oracle."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2

import kwont_ohlcv as ohlcv
from kwont_common.events import Candle, Signal
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.mongo import Database, Mongo
from kwont_common.service import Runtime, Wiring, serve
from kwont_marketdata import store
from kwont_quant import BUILTINS, Candles
from kwont_quant.live import intent
from kwont_quant.seam import compute_signals, instantiate
from kwont_quant.signals import BarSignal
from kwont_strategy.engine import SignalEngine
from kwont_strategy.main import wire
from kwont_strategy.settings import StrategySettings

MINUTE_MS = 60_000

ALWAYS_LONG = '''
import numpy as np
from kwont_quant import Candles, Signals, Stop, Strategy

class AlwaysLong(Strategy):
    """Enters long on every bar, with a 2 % stop and a 5 % take-profit, half size."""
    stop_loss = Stop.percent(0.02)
    take_profit = Stop.percent(0.05)

    def generate(self, candles: Candles) -> Signals:
        return Signals(enter_long=np.ones(len(candles), dtype=bool), size=0.5)
'''

BOOM = """
from kwont_quant import Candles, Signals, Strategy

class Boom(Strategy):
    def generate(self, candles: Candles) -> Signals:
        raise ZeroDivisionError("boom in user code")
"""


def settings_for(kafka: str, mongo_uri: str, db: str, prefix: str, **kw: Any) -> StrategySettings:
    fields: dict[str, Any] = {
        "service_name": "strategy",
        "kafka_bootstrap_servers": kafka,
        "kafka_idempotence": False,
        "topic_prefix": f"{prefix}.",
        "topic_partitions": 1,
        "consumer_group": f"strategy-{prefix}",
        "mongo_uri": mongo_uri,
        "mongo_database": db,
        "mongo_market_database": db,  # `candles` next to `deployments`: no clash
        "metrics_port": 0,
        "deployments_refresh_s": 0.1,
        "retry_backoff_max_s": 0.05,
        "startup_timeout_s": 20,
        "log_json": False,
    }
    fields.update(kw)
    return StrategySettings.model_validate(fields)


def events_of(symbol: str, candles: Candles, interval: str = "1m") -> list[Candle]:
    """Candle events of every row, Binance kline semantics."""
    step = ohlcv.INTERVAL_MS[interval]
    return [
        Candle(
            event_time=int(t) + step - 1,
            source="test",
            symbol=symbol,
            interval=interval,  # type: ignore[arg-type]
            open_time=int(t),
            close_time=int(t) + step - 1,
            open=float(o),
            high=float(h),
            low=float(lo),
            close=float(c),
            volume=float(v),
            feed="synthetic",
        )
        for t, o, h, lo, c, v in zip(
            candles.open_time_ms,
            candles.open,
            candles.high,
            candles.low,
            candles.close,
            candles.volume,
            strict=True,
        )
    ]


async def store_candles(db: Database, events: Iterable[Candle]) -> None:
    """Store candles in ``ohlcv`` as marketdata does (idempotent bucket upserts)."""
    rows = list(events)
    if not rows:
        return
    cols = {
        "open_time": np.array([c.open_time for c in rows], dtype=np.float64),
        "open": np.array([c.open for c in rows]),
        "high": np.array([c.high for c in rows]),
        "low": np.array([c.low for c in rows]),
        "close": np.array([c.close for c in rows]),
        "volume": np.array([c.volume for c in rows]),
        "quote_volume": np.array([c.quote_volume for c in rows]),
        "trades": np.array([c.trades for c in rows], dtype=np.float64),
    }
    await store.upsert(db, rows[0].symbol, rows[0].interval, cols, "synthetic")


def deployment_doc(
    owner: str, account: str, strategy: str, params: dict[str, Any], symbols: list[str],
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    """A running deployment as the gateway stores it (built-in strategy)."""
    return {
        "_id": f"dep_{uuid.uuid4().hex[:12]}",
        "owner": owner,
        "account": account,
        "strategy": strategy,
        "strategy_ref": {"name": strategy, "builtin": True, "version": None, "code_sha256": None},
        "version": None,
        "params": params,
        "symbols": symbols,
        "interval": "1m",
        "venue": "paper",
        "status": "running",
        **extra,
    }


async def upload(db: Database, owner: str, code: str) -> dict[str, Any]:
    """Store an uploaded strategy as the gateway does; return its ``strategy_ref``."""
    ident = f"st_{uuid.uuid4().hex[:12]}"
    digest = hashlib.sha256(code.encode()).hexdigest()
    await db.strategies.insert_one({
        "_id": ident, "owner": owner, "name": ident, "latest_version": 1,
        "versions": [{"version": 1, "code": code, "sha256": digest,
                      "check": {"status": "valid"}}],
    })  # fmt: skip
    return {"name": ident, "builtin": False, "version": 1, "code_sha256": digest}


def expected(
    strategy: str, params: dict[str, Any], candles: Candles, first: int, allow_short: bool = True
) -> dict[int, tuple[str, str | None]]:
    """The backtest's reading of bars ``first..`` of ``candles``: open time -> (action,
    exit side), from ``compute_signals`` over the whole history and ``live.intent``."""
    sig = compute_signals(instantiate(BUILTINS[strategy], params), candles)
    out: dict[int, tuple[str, str | None]] = {}
    for i in range(max(first, sig.warmup), len(candles)):
        bar = BarSignal(
            int(candles.open_time_ms[i]), float(candles.close[i]),
            bool(sig.enter_long[i]), bool(sig.exit_long[i]), bool(sig.enter_short[i]),
            bool(sig.exit_short[i]), float(sig.size[i]), None, None, None, None,
        )  # fmt: skip
        got = intent(bar, allow_short)
        if got is not None:
            out[int(candles.open_time_ms[i])] = (got.action, got.exit_side)
    return out


@dataclass
class Running:
    settings: StrategySettings
    engine: SignalEngine
    task: asyncio.Task[int]


@asynccontextmanager
async def running(settings: StrategySettings, n: int = 1) -> AsyncIterator[list[Running]]:
    """``n`` replicas of the service in-process (one group), stopped cleanly at exit."""
    await ensure_topics(settings)
    stop = asyncio.Event()
    out: list[Running] = []
    for _ in range(n):
        box: list[SignalEngine] = []

        async def setup(runtime: Runtime, box: list[SignalEngine] = box) -> Wiring:
            wiring, engine = await wire(runtime)
            box.append(engine)
            return wiring

        task = asyncio.create_task(serve(settings, setup, stop))
        async with asyncio.timeout(30):
            while not box:
                assert not task.done(), f"service stopped: {task.result()}"
                await asyncio.sleep(0.05)
        out.append(Running(settings, box[0], task))
    try:
        yield out
    finally:
        stop.set()
        assert await asyncio.gather(*(r.task for r in out)) == [0] * n


async def next_refresh(engine: SignalEngine) -> None:
    """Wait until the deployments cache has been re-read twice (a change made before this
    call is then in effect)."""
    start = engine.registry.generation
    async with asyncio.timeout(10):
        while engine.registry.generation < start + 2:
            await asyncio.sleep(0.02)


class SignalReader:
    """Reads ``signals`` from the beginning, keeping everything seen."""

    def __init__(self, settings: StrategySettings) -> None:
        self.topic = f"{settings.topic_prefix}signals"
        self.consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=settings.kafka_bootstrap_servers,
            auto_offset_reset="earliest", enable_auto_commit=False,
        )  # fmt: skip
        self.seen: list[Signal] = []

    async def __aenter__(self) -> SignalReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def until(self, done: Any, timeout: float = 20) -> list[Signal]:
        """Read until ``done(seen)`` is true; return everything seen."""
        async with asyncio.timeout(timeout):
            while not done(self.seen):
                batch = await self.consumer.getmany(timeout_ms=100)
                for records in batch.values():
                    self.seen += [Signal.model_validate_json(r.value) for r in records if r.value]
        return self.seen


async def publish_stored(settings: StrategySettings, db: Database, events: list[Candle]) -> None:
    """Store each candle, then publish it (marketdata's order)."""
    producer = EventProducer(settings)
    await producer.start()
    try:
        for event in events:
            await store_candles(db, [event])
            await producer.publish(event)
    finally:
        await producer.stop()


def mongo_for(settings: StrategySettings) -> Mongo:
    return Mongo.connect(settings)


async def group_has_members(settings: StrategySettings, n: int) -> None:
    """Wait until the service's consumer group is stable with ``n`` members."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        async with asyncio.timeout(60):
            while True:
                [response] = await admin.describe_consumer_groups([settings.group_id])
                # (error, group, state, protocol_type, protocol, members); tansu leaves the
                # members' assignment bytes empty, so count the members.
                _, _, state, _, _, members, *_ = response.groups[0]
                if state == "Stable" and len(members) == n:
                    return
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


def symbols_per_partition(partitions: int, each: int, interval: str = "1m") -> list[str]:
    """Symbols whose candle keys land ``each`` on every partition (Kafka's murmur2), so
    every replica's share of the partitions has some whatever the assignment."""
    buckets: dict[int, list[str]] = {p: [] for p in range(partitions)}
    n = 0
    while any(len(b) < each for b in buckets.values()):
        n += 1
        symbol = f"S{n}USDT"
        bucket = buckets[(murmur2(f"{symbol}:{interval}".encode()) & 0x7FFFFFFF) % partitions]
        if len(bucket) < each:
            bucket.append(symbol)
    return [s for b in buckets.values() for s in b]
