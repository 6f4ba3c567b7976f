"""Backtests as a service: submit-to-result latency, cache-hit latency, container overhead.

Starts its own engines (tansu, SecantusDB, Redis; a Docker engine if none answers), seeds the
demo year (synthetic BTCUSDT 1m, 525,600 candles), runs the gateway and one backtest-runner
as processes, then times ``POST /api/v1/backtests`` to the result on ``/ws/backtests/{id}``
for a one-year 1-minute sma_cross: fresh (a sandbox container per job) and again identical
(answered from the Redis cache). Targets: under 3 s fresh, under 50 ms from cache.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker
import httpx
import websockets

from kwont_devstack.dockerd import docker_base_url, start_dockerd, stop_own_dockerd
from kwont_devstack.mongo_users import MongoCredentials
from kwont_devstack.process import free_port
from kwont_devstack.redis_server import start_redis
from kwont_devstack.secantusdb import start_secantus
from kwont_devstack.tansu import start_tansu

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "bench-admin-password"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


async def _submit_and_wait(base: str, headers: dict[str, str], body: dict[str, object]) -> float:
    async with httpx.AsyncClient(base_url=base, headers=headers) as c:
        started = time.perf_counter()
        job_id = (await c.post("/api/v1/backtests", json=body)).raise_for_status().json()["job_id"]
        url = base.replace("http", "ws") + f"/ws/backtests/{job_id}"
        async with websockets.connect(url, additional_headers=headers) as ws:
            async for raw in ws:
                msg = json.loads(raw)
                done = msg["type"] == "result" or (
                    msg["type"] == "state" and msg["data"]["status"] in ("succeeded", "failed")
                )
                if done:
                    elapsed = time.perf_counter() - started
                    status = msg["data"]["status"]
                    if status != "succeeded":
                        raise RuntimeError(f"job {job_id} {status}: {msg['data'].get('error')}")
                    return elapsed
    raise RuntimeError("socket closed before the result")


async def _measure(base: str, start_ms: int, end_ms: int) -> tuple[list[float], list[float]]:
    async with httpx.AsyncClient(base_url=base) as c:
        form = {"username": "admin", "password": PASSWORD}
        token = (await c.post("/api/v1/auth/token", data=form)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    fresh, cached = [], []
    for i in range(RUNS):
        body = {"strategy": "sma_cross", "params": {"fast": 10 + i, "slow": 30},
                "symbols": ["BTCUSDT"], "interval": "1m", "start": start_ms, "end": end_ms,
                "cash": 10_000, "fee_bps": 10}  # fmt: skip
        fresh.append(await _submit_and_wait(base, headers, body))
        cached.append(await _submit_and_wait(base, headers, body))
    return fresh, cached


def _container_overhead(image: str) -> float:
    client = docker.DockerClient(base_url=docker_base_url())
    times = []
    for _ in range(5):
        started = time.perf_counter()
        client.containers.run(image, ["python3", "-c", "pass"], remove=True, network_mode="none")
        times.append(time.perf_counter() - started)
    client.close()
    return statistics.median(times)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = Path(str(proc.args[0])).name.removeprefix("kwont-")
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}: see {log}.log")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


def main() -> None:
    """Start the engines, a Docker engine and the services, measure the backtest latencies and
    print them."""
    work = Path(tempfile.mkdtemp(prefix="kwont-bench-bt-"))
    engines, procs = [], []
    try:
        start_dockerd(work)
        build = subprocess.run([str(ROOT / "scripts/build-sandbox-image.sh")], cwd=ROOT,
                               capture_output=True, text=True, check=False)  # fmt: skip
        if build.returncode != 0:
            print(f"bench.backtests: sandbox image build failed; skipped\n{build.stderr[-2000:]}")
            return
        kafka_port, redis_port, api_port = free_port(HOST), free_port(HOST), free_port(HOST)
        engines.append(start_tansu(HOST, kafka_port, work / "tansu.log"))
        mongo, endpoint = start_secantus(HOST, free_port(HOST), work / "mongo", work / "mongo.log",
                                         MongoCredentials.generate())  # fmt: skip
        engines.append(mongo)
        engines.append(start_redis(HOST, redis_port, work / "redis", work / "redis.log"))
        tag = uuid.uuid4().hex[:6]
        env = {
            **os.environ, "KWONT_KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{kafka_port}",
            "KWONT_KAFKA_IDEMPOTENCE": "false", "KWONT_MONGO_URI": endpoint.app_uri,
            "KWONT_MONGO_READONLY_URI": endpoint.readonly_uri,
            "KWONT_REDIS_URL": f"redis://{HOST}:{redis_port}/0", "KWONT_HTTP_PORT": str(api_port),
            "KWONT_RUN_DIR": str(work / "run"), "KWONT_LOG_LEVEL": "WARNING",
            "KWONT_ADMIN_PASSWORD": PASSWORD, "KWONT_SANDBOX_NETWORK": f"kwont-bench-{tag}",
            "KWONT_SANDBOX_BRIDGE": f"kwbn{tag}", "KWONT_SANDBOX_RELAY_PORT": str(free_port(HOST)),
            "KWONT_SANDBOX_NETWORK_CLEANUP": "true",
        }  # fmt: skip
        for command in (["kwont-topics", "create"], ["kwont-marketdata", "seed-demo"],
                        ["kwont-gateway", "create-admin"]):  # fmt: skip
            subprocess.run([BIN / command[0], *command[1:]], env=env, check=True,
                           capture_output=True)  # fmt: skip
        for name in ("gateway", "backtest-runner"):
            log = (work / f"{name}.log").open("wb")
            port_env = {**env, "KWONT_METRICS_PORT": str(free_port(HOST))}
            procs.append(subprocess.Popen([BIN / f"kwont-{name}"], env=port_env, stdout=log,
                                          stderr=log))  # fmt: skip
            _wait_ready(f"http://{HOST}:{port_env['KWONT_METRICS_PORT']}/readyz", procs[-1])
        from kwont_marketdata.load import demo_start_ms

        start_ms = demo_start_ms()
        end_ms = start_ms + 365 * 86_400_000
        fresh, cached = asyncio.run(_measure(f"http://{HOST}:{api_port}", start_ms, end_ms))
        overhead = _container_overhead("kwont/sandbox:latest")
        p50 = statistics.median
        print(f"one-year 1m sma_cross (525,600 candles), {RUNS} runs each, POST -> result on WS:")
        print(f"  fresh (sandbox container): p50 {p50(fresh):.2f} s  max {max(fresh):.2f} s"
              f"  ({'meets' if max(fresh) < 3 else 'misses'} the 3 s target)")  # fmt: skip
        print(f"  identical (Redis cache):   p50 {p50(cached) * 1000:.1f} ms  max "
              f"{max(cached) * 1000:.1f} ms  ({'meets' if max(cached) < 0.05 else 'misses'} "
              f"the 50 ms target)")  # fmt: skip
        print(f"  container start-to-exit overhead (python3 -c pass): {overhead:.2f} s")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        for engine in reversed(engines):
            engine.stop()
        stop_own_dockerd(work)
        shutil.rmtree(work, ignore_errors=True)
