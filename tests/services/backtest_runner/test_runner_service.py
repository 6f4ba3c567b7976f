"""The backtest-runner service end to end on real engines: a job on ``backtest-jobs`` runs in
the sandbox, is stored once, cached in Redis and published; an identical job is answered from
the cache without a container; two replicas share eight jobs; cancellation kills the job."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2

from kwont_backtest_runner.main import setup
from kwont_backtest_runner.settings import BacktestRunnerSettings
from kwont_common import events as ev
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.mongo import Mongo
from kwont_common.service import serve
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant import Candles
from tests.services.backtest_runner.conftest import job_for

pytestmark = pytest.mark.integration
HOSTILE = Path(__file__).with_name("hostile")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings(
    kafka_bootstrap: str, mongo: MongoEndpoint, redis_url: str, docker_engine: str,
    sandbox_image: str, unique_name: str,
) -> BacktestRunnerSettings:  # fmt: skip
    tag = uuid.uuid4().hex[:5]
    return BacktestRunnerSettings(
        service_name="backtest-runner", kafka_bootstrap_servers=kafka_bootstrap,
        kafka_idempotence=False, topic_prefix=f"{unique_name}.", topic_partitions=4,
        mongo_uri=mongo.app_uri, mongo_readonly_uri=mongo.readonly_uri, redis_url=redis_url,
        docker_url=docker_engine, sandbox_image=sandbox_image,
        sandbox_network=f"kwont-rt-{tag}", sandbox_bridge=f"kwrt{tag}",
        sandbox_relay_port=_free_port(), sandbox_network_cleanup=True, metrics_port=0,
        sandbox_timeout_s=60,
        consumer_group=f"runners-{unique_name}",
    )  # fmt: skip


async def start_replicas(
    settings: BacktestRunnerSettings, n: int
) -> tuple[asyncio.Event, list[asyncio.Task[int]]]:
    await ensure_topics(settings)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(serve(settings.model_copy(update={"runner_id": f"r{i}"}), setup, stop))
        for i in range(n)
    ]
    return stop, tasks


async def results_stream(settings: BacktestRunnerSettings) -> AsyncIterator[ev.BacktestResult]:
    consumer = AIOKafkaConsumer(
        f"{settings.topic_prefix}backtest-results",
        bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        async for record in consumer:
            yield ev.BacktestResult.model_validate_json(record.value)
    finally:
        await consumer.stop()


async def submit(settings: BacktestRunnerSettings, jobs: list[dict[str, Any]]) -> None:
    producer = EventProducer(settings)
    await producer.start()
    now = int(datetime.now(UTC).timestamp() * 1000)
    for job in jobs:
        await producer.publish(ev.BacktestJob.model_validate({**job, "event_time": now,
                                                              "source": "test"}))  # fmt: skip
    await producer.stop()


async def collect(settings: BacktestRunnerSettings, job_ids: set[str], timeout: float = 120
                  ) -> dict[str, ev.BacktestResult]:  # fmt: skip
    got: dict[str, ev.BacktestResult] = {}
    async with asyncio.timeout(timeout):
        async for result in results_stream(settings):
            if result.job_id in job_ids:
                got[result.job_id] = result
            if set(got) == job_ids:
                return got
    return got


def containers_created(client: docker.DockerClient, since: float, network: str) -> int:
    """Sandbox containers started on this test's ``network`` since ``since``: a container
    joins its network when it starts (a spare is created ahead of its job, so creations are
    not runs; other runners on a shared engine use other networks)."""
    events = client.events(since=int(since), until=int(datetime.now(UTC).timestamp()) + 1,
                           filters={"type": "network", "event": "connect",
                                    "network": network}, decode=True)  # fmt: skip
    return sum(1 for _ in events)


async def test_job_runs_is_stored_cached_and_an_identical_job_needs_no_container(
    settings: BacktestRunnerSettings, market: dict[str, Candles], docker_engine: str
) -> None:
    stop, replicas = await start_replicas(settings, 1)
    symbol = sorted(market)[0]
    first = job_for([symbol])
    client = docker.DockerClient(base_url=docker_engine)
    try:
        t0 = datetime.now(UTC).timestamp()
        await submit(settings, [first])
        [done] = (await collect(settings, {first["job_id"]})).values()
        assert done.status == "succeeded" and not done.from_cache, done.error
        assert done.trade_count > 10 and done.final_equity is not None
        assert containers_created(client, t0, settings.sandbox_network) == 1

        m = Mongo.connect(settings)
        state = await m.write.backtests.find_one({"_id": first["job_id"]})
        stored = await m.write.backtest_results.find_one({"_id": first["job_id"]})
        assert state["status"] == "succeeded" and state["progress"]["fraction"] == 1.0
        assert "trades" not in stored  # a small result document; the trades are paged
        chunks = [c async for c in m.write.backtest_trades.find({"job_id": first["job_id"]})]
        assert sum(len(c["trades"]) for c in chunks) == done.trade_count
        assert len(stored["equity"]["value"]) == 8 * len(market[symbol])

        again = {**first, "job_id": f"job-{uuid.uuid4().hex[:12]}"}
        t1 = datetime.now(UTC).timestamp()
        await submit(settings, [again])
        [cached] = (await collect(settings, {again["job_id"]})).values()
        assert cached.status == "succeeded" and cached.from_cache
        assert cached.final_equity == done.final_equity and cached.trade_count == done.trade_count
        assert containers_created(client, t1, settings.sandbox_network) == 0

        # The same job delivered again (a crashed runner's redelivery) gives no second result.
        await submit(settings, [first])
        [replayed] = (await collect(settings, {first["job_id"]})).values()
        assert replayed.event_id == done.event_id
        assert await m.write.backtest_results.count_documents({"_id": first["job_id"]}) == 1
        await m.close()
    finally:
        client.close()
        stop.set()
        assert await asyncio.gather(*replicas) == [0]


async def group_has_members(settings: BacktestRunnerSettings, n: int) -> None:
    """Wait until the runners' consumer group is stable with ``n`` members."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        async with asyncio.timeout(60):
            while True:
                [response] = await admin.describe_consumer_groups([settings.group_id])
                # DescribeGroups rows: (error, group, state, protocol_type, protocol, members).
                # tansu leaves the members' assignment bytes empty, so count the members.
                _, _, state, _, _, members, *_ = response.groups[0]
                if state == "Stable" and len(members) == n:
                    return
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


def ids_two_per_partition(partitions: int) -> list[str]:
    """Job ids whose keys land two on each partition (Kafka's murmur2 partitioner), so each
    replica's share of the partitions holds jobs whatever the assignment."""
    ids: dict[int, list[str]] = {p: [] for p in range(partitions)}
    while any(len(v) < 2 for v in ids.values()):
        job_id = f"job-{uuid.uuid4().hex[:12]}"
        bucket = ids[(murmur2(job_id.encode()) & 0x7FFFFFFF) % partitions]
        if len(bucket) < 2:
            bucket.append(job_id)
    return [i for v in ids.values() for i in v]


async def test_two_replicas_share_eight_jobs(
    settings: BacktestRunnerSettings, market: dict[str, Candles]
) -> None:
    stop, replicas = await start_replicas(settings, 2)
    symbols = sorted(market)
    jobs = [
        job_for([symbols[i % 2]], params={"fast": 5 + i, "slow": 40}, job_id=job_id)
        for i, job_id in enumerate(ids_two_per_partition(settings.topic_partitions))
    ]
    try:
        await group_has_members(settings, 2)  # both replicas assigned before the burst
        await submit(settings, jobs)
        got = await collect(settings, {j["job_id"] for j in jobs}, timeout=180)
    finally:
        stop.set()
        await asyncio.gather(*replicas)
    errors = {r.job_id: r.error for r in got.values() if r.status != "succeeded"}
    assert not errors, errors
    runners = {r.runner for r in got.values()}
    assert runners == {"r0", "r1"}, f"work not shared: {runners}"


async def test_a_failing_job_is_marked_failed_with_the_reason(
    settings: BacktestRunnerSettings, market: dict[str, Candles]
) -> None:
    stop, replicas = await start_replicas(settings, 1)
    job = job_for([sorted(market)[0]], params={"fast": 10, "slow": 5})  # fast must be < slow
    try:
        await submit(settings, [job])
        [result] = (await collect(settings, {job["job_id"]})).values()
    finally:
        stop.set()
        await asyncio.gather(*replicas)
    assert result.status == "failed" and result.error
    assert "slow" in result.error or "fast" in result.error
    print(json.dumps({"error": result.error[:200]}))


async def test_cancelling_a_running_job_kills_its_container(
    settings: BacktestRunnerSettings, market: dict[str, Candles]
) -> None:
    code = (HOSTILE / "infinite_loop.py").read_text()
    m = Mongo.connect(settings)
    strategy_id = f"s-{uuid.uuid4().hex[:8]}"
    await m.write.strategies.insert_one({
        "_id": strategy_id, "owner": "tester", "name": "loop", "latest_version": 1,
        "versions": [{"version": 1, "code": code}],
    })  # fmt: skip
    stop, replicas = await start_replicas(settings, 1)
    job = job_for([sorted(market)[0]], strategy={"name": strategy_id, "builtin": False}, params={})
    try:
        await submit(settings, [job])
        async with asyncio.timeout(30):
            while (await m.write.backtests.find_one({"_id": job["job_id"]}) or {}).get(
                "status"
            ) != "running":
                await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        started = asyncio.get_running_loop().time()
        await m.write.backtests.update_one(
            {"_id": job["job_id"]}, {"$set": {"status": "cancelling"}}
        )
        [result] = (await collect(settings, {job["job_id"]}, timeout=30)).values()
        took = asyncio.get_running_loop().time() - started
    finally:
        stop.set()
        await asyncio.gather(*replicas)
    state = await m.write.backtests.find_one({"_id": job["job_id"]})
    await m.close()
    assert result.status == "cancelled" and state["status"] == "cancelled", result.error
    assert took < 10, f"cancel took {took:.1f}s (the job's timeout is 60s)"


GOOD = '''
from kwont_quant import IntParameter, Signals, Strategy
from kwont_quant import indicators as ta


class Cross(Strategy):
    """Fast over slow."""

    fast = IntParameter(2, 50, default=10)
    slow = IntParameter(5, 200, default=30, step=5)

    def generate(self, candles) -> Signals:
        f, s = ta.sma(candles.close, self.fast), ta.sma(candles.close, self.slow)
        return Signals(enter_long=ta.crossover(f, s), exit_long=ta.crossunder(f, s))
'''


async def test_uploaded_versions_are_checked_in_the_sandbox(
    settings: BacktestRunnerSettings,
) -> None:
    m = Mongo.connect(settings)
    ids = {kind: f"chk-{kind}-{uuid.uuid4().hex[:6]}" for kind in ("good", "none", "syntax")}
    sources = {"good": GOOD, "none": "x = 1\n", "syntax": "def broken(:\n"}
    for kind, sid in ids.items():
        await m.write.strategies.insert_one({
            "_id": sid, "owner": "tester", "name": kind, "latest_version": 1,
            "versions": [{"version": 1, "code": sources[kind], "check": {"status": "pending"}}],
        })  # fmt: skip
    stop, replicas = await start_replicas(settings, 1)

    async def checks() -> dict[str, dict[str, Any]]:
        out = {}
        for kind, sid in ids.items():
            doc = await m.write.strategies.find_one({"_id": sid})
            out[kind] = doc["versions"][0]["check"]
        return out

    try:
        async with asyncio.timeout(60):
            while any(c["status"] in ("pending", "checking") for c in (await checks()).values()):
                await asyncio.sleep(0.3)
    finally:
        stop.set()
        await asyncio.gather(*replicas)
    got = await checks()
    await m.close()
    assert got["good"]["status"] == "valid", got["good"]
    params = {p["name"]: p for p in got["good"]["description"]["parameters"]}
    assert params["fast"]["default"] == 10 and params["slow"]["max"] == 200
    assert got["none"]["status"] == "invalid" and "strategy" in got["none"]["error"].lower()
    assert got["syntax"]["status"] == "invalid" and "SyntaxError" in got["syntax"]["error"]


async def test_forged_results_leaks_and_unknown_strategies_fail_after_one_sandbox_run(
    settings: BacktestRunnerSettings, market: dict[str, Candles], docker_engine: str,
    mongo: MongoEndpoint,
) -> None:  # fmt: skip
    """Each job ends ``failed`` with its reason, published and stored, after at most one
    container; none is retried, none is left running, no error holds the password."""
    from tests.services.backtest_runner.test_sandbox_results import FORGE, LEAK, forged, password

    nan = forged(strategy="x", params={}, metrics={"sharpe": float("nan")}, final_equity=1e308,
                 trades=[], symbols={}, candles={})  # fmt: skip
    big = forged(strategy="x", params={f"p{i}": "v" * 100 for i in range(20_000)}, metrics={},
                 final_equity=1.0, trades=[], symbols={}, candles={})  # fmt: skip
    codes = {"nan": FORGE.format(line=nan), "big": FORGE.format(line=big), "leak": LEAK}
    m = Mongo.connect(settings)
    jobs, sids = {}, {}
    for kind, code in codes.items():
        sids[kind] = f"s-{kind}-{uuid.uuid4().hex[:8]}"
        await m.write.strategies.insert_one({
            "_id": sids[kind], "owner": "tester", "name": kind, "latest_version": 1,
            "versions": [{"version": 1, "code": code, "check": {"status": "valid"}}],
        })  # fmt: skip
    for kind in (*codes, "missing"):
        ref = {"name": sids.get(kind, "s-does-not-exist"), "builtin": False}
        jobs[kind] = job_for([sorted(market)[0]], strategy=ref, params={})
    stop, replicas = await start_replicas(settings, 1)
    client = docker.DockerClient(base_url=docker_engine)
    try:
        t0 = datetime.now(UTC).timestamp()
        await submit(settings, list(jobs.values()))
        got = await collect(settings, {j["job_id"] for j in jobs.values()}, timeout=90)
        created = containers_created(client, t0, settings.sandbox_network)
    finally:
        client.close()
        stop.set()
        await asyncio.gather(*replicas)
    states = {k: await m.write.backtests.find_one({"_id": j["job_id"]}) for k, j in jobs.items()}
    await m.close()
    results = {k: got[j["job_id"]] for k, j in jobs.items()}
    errors = {k: s["error"] for k, s in states.items()}
    assert {k: (results[k].status, states[k]["status"]) for k in jobs} == {
        k: ("failed", "failed") for k in jobs
    }, errors
    assert created == 3, f"{created} containers for 3 sandboxed jobs (retried?)"
    assert errors["nan"] == "invalid result from the sandbox: metrics.sharpe is not finite"
    assert errors["big"] == "invalid result from the sandbox: params has more than 64 items"
    assert errors["missing"] == ("job could not be handled: strategy s-does-not-exist not found")
    assert errors["leak"].startswith("strategy raised: "), errors["leak"]
    assert "RuntimeError: connect with ***\n" in errors["leak"]
    secret = password(mongo.readonly_uri)
    for kind in jobs:
        assert secret not in errors[kind] and secret not in (results[kind].error or "")
        assert states[kind]["finished_at"] is not None


async def test_a_job_message_that_does_not_decode_fails_its_job_with_the_cause(
    settings: BacktestRunnerSettings,
) -> None:
    """The message never reaches ``on_job``: it is dead-lettered, and the dead-letter hook
    marks the job its key names ``failed`` instead of leaving it queued."""
    job_id = f"bad-{uuid.uuid4().hex[:8]}"
    m = Mongo.connect(settings)
    await m.write.backtests.insert_one({"_id": job_id, "status": "queued", "owner": "u1"})
    stop, replicas = await start_replicas(settings, 1)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{settings.topic_prefix}backtest-jobs", b'{"job_id": 7, "mode": "nope"}',
            key=job_id.encode(),
        )  # fmt: skip
        async with asyncio.timeout(60):
            while (doc := await m.write.backtests.find_one({"_id": job_id}))["status"] != "failed":
                await asyncio.sleep(0.2)
    finally:
        await producer.stop()
        stop.set()
        await asyncio.gather(*replicas)
        await m.close()
    assert doc["error"].startswith("job message could not be read (validation): "), doc
    assert "job_id" in doc["error"], doc["error"]
