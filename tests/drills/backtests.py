"""The backtest side of the drills: backtest-runner as a real process (its own sandbox
network), jobs on ``backtest-jobs``, and the check of what they left against the engine run
in this process on the same candles (the uninterrupted run)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from kwont_common import events as ev
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.settings import Settings
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_devstack.servicerun import Pipeline, free_port
from kwont_quant import BacktestConfig, Candles, run_backtest
from kwont_quant.strategies.trend import SmaCross
from kwont_quant.synthetic import gbm_ohlcv
from tests.drills.harness import DrillRecord
from tests.services.backtest_runner.conftest import DAY_MS, START_MS, insert_candles, job_for

FINAL = ("succeeded", "failed", "cancelled")


def drill_candles(mongo: MongoEndpoint, days: int = 3) -> tuple[str, Candles]:
    """A drill-unique symbol with ``days`` of 1-minute candles in ``ohlcv.candles``."""
    symbol = f"D{uuid.uuid4().hex[:6].upper()}USDT"
    candles = gbm_ohlcv(days * 1440, seed=7, start_ms=START_MS)
    insert_candles(mongo.app_uri, symbol, candles)
    return symbol, candles


def runner_pipeline(
    kafka: str, mongo: MongoEndpoint, database: str, prefix: str, logs: Path, docker_url: str,
    image: str, extra: dict[str, str] | None = None,
) -> Pipeline:  # fmt: skip
    """A Pipeline whose ``start("backtest-runner")`` runs the runner against these engines."""
    tag = uuid.uuid4().hex[:5]
    logs.mkdir(parents=True, exist_ok=True)
    p = Pipeline(kafka, mongo, database, "ohlcv", prefix, logs, group_prefix=prefix.rstrip("."))
    p.env = {
        "KWONT_DOCKER_URL": docker_url, "KWONT_SANDBOX_IMAGE": image,
        "KWONT_SANDBOX_NETWORK": f"kwont-drill-{tag}", "KWONT_SANDBOX_BRIDGE": f"kwdr{tag}",
        "KWONT_SANDBOX_RELAY_PORT": str(free_port()), "KWONT_SANDBOX_NETWORK_CLEANUP": "true",
        "KWONT_SANDBOX_TIMEOUT_S": "60", "KWONT_TOPIC_PARTITIONS": "2",
        "KWONT_SANDBOX_RETRY_WAIT_S": "40", **(extra or {}),
    }  # fmt: skip
    return p


def jobs(symbol: str, n: int) -> list[dict[str, Any]]:
    """``n`` distinct three-day sma_cross jobs (distinct params: no cache hits)."""
    return [job_for([symbol], params={"fast": 5 + i, "slow": 40 + 3 * i}, owner="drill",
                    end_time=START_MS + 3 * DAY_MS) for i in range(n)]  # fmt: skip


async def submit(settings: Settings, batch: list[dict[str, Any]]) -> None:
    producer = EventProducer(settings)
    await producer.start()
    now = int(datetime.now(UTC).timestamp() * 1000)
    for job in batch:
        await producer.publish(ev.BacktestJob.model_validate({**job, "event_time": now,
                                                              "source": "drill"}))  # fmt: skip
    await producer.stop()


def settings_of(kafka: str, prefix: str) -> Settings:
    return Settings(kafka_bootstrap_servers=kafka, kafka_idempotence=False, topic_prefix=prefix,
                    topic_partitions=2)  # fmt: skip


async def prepare_topics(kafka: str, prefix: str) -> None:
    await ensure_topics(settings_of(kafka, prefix))


async def statuses(mongo: MongoEndpoint, database: str, ids: list[str]) -> dict[str, Any]:
    conn: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    try:
        return {d["_id"]: d async for d in conn[database].backtests.find({"_id": {"$in": ids}})}
    finally:
        await conn.close()


async def all_final(mongo: MongoEndpoint, database: str, ids: list[str]) -> bool:
    docs = await statuses(mongo, database, ids)
    return len(docs) == len(ids) and all(d["status"] in FINAL for d in docs.values())


async def published_results(kafka: str, prefix: str, ids: set[str]) -> Counter[tuple[str, str]]:
    """(job id, result event id) -> how often it is on ``backtest-results``."""
    consumer = AIOKafkaConsumer(f"{prefix}backtest-results", bootstrap_servers=kafka,
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    seen: Counter[tuple[str, str]] = Counter()
    try:
        batch = await consumer.getmany(timeout_ms=3000)
        while batch:
            for records in batch.values():
                for r in records:
                    res = ev.BacktestResult.model_validate_json(r.value)
                    if res.job_id in ids:
                        seen[(res.job_id, str(res.event_id))] += 1
            batch = await consumer.getmany(timeout_ms=1000)
    finally:
        await consumer.stop()
    return seen


async def check_results(
    rec: DrillRecord, mongo: MongoEndpoint, database: str, kafka: str, prefix: str,
    batch: list[dict[str, Any]], candles: Candles, expect: str = "succeeded",
    need_event: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Count lost, duplicate and mismatched job results into ``rec``: every job final with
    ``expect``, one stored result each (equal to the engine's on the same candles), and one
    result event id each on the topic (``need_event``: at least one; a broker that lost its
    data lost the events published before). Returns the status documents."""
    ids = [str(j["job_id"]) for j in batch]
    docs = await statuses(mongo, database, ids)
    conn: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    stored = Counter([d["_id"] async for d in conn[database].backtest_results.find(
        {"_id": {"$in": ids}}, {"_id": 1})])  # fmt: skip
    results = {d["_id"]: d async for d in conn[database].backtest_results.find(
        {"_id": {"$in": ids}}, {"final_equity": 1, "trade_count": 1})}  # fmt: skip
    await conn.close()
    events = await published_results(kafka, prefix, set(ids))
    ids_published = Counter(job for job, _ in events)
    for job in batch:
        jid = str(job["job_id"])
        doc = docs.get(jid) or {}
        if doc.get("status") != expect or (need_event and ids_published[jid] == 0):
            rec.lost += 1
            rec.notes.append(f"{jid}: {doc.get('status')} {str(doc.get('error'))[:160]}")
            continue
        rec.duplicates += max(0, ids_published[jid] - 1) + max(0, stored[jid] - 1)
        if expect != "succeeded":
            continue
        if stored[jid] != 1:
            rec.lost += 1
            continue
        params = dict(job["params"])  # type: ignore[call-overload]
        want = run_backtest(SmaCross(**params), candles, BacktestConfig(cash=10_000, fee_bps=10))
        got = results[jid]
        if got["trade_count"] != len(want.trades) or abs(
            float(got["final_equity"]) - want.final_equity
        ) > 1e-6 * abs(want.final_equity):
            rec.mismatched += 1
            rec.notes.append(f"{jid}: {got['final_equity']} != {want.final_equity:.8f}")
    return docs
