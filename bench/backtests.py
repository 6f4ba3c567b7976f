"""Backtests as a service: submit-to-result latency, cache-hit latency, container overhead.

Starts its own engines (tansu, SecantusDB, Redis; a Docker engine if none answers), seeds the
demo year (synthetic BTCUSDT 1m, 525,600 candles), runs the gateway and one backtest-runner
as processes, then times ``POST /api/v1/backtests`` to the result on ``/ws/backtests/{id}``
for a one-year 1-minute sma_cross: fresh (a sandbox container per job) and again identical
(answered from the Redis cache), with the stage breakdown each fresh job's record carries.
Targets: fresh p50 under 1 s and p99 under 1.5 s, cache hit p50 under 20 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time

import docker
import httpx
import websockets

from bench.sandbox_stack import PASSWORD, sandbox_stack
from kwont_devstack.dockerd import docker_base_url

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
IMAGE = "kwont/sandbox:latest"


Run = tuple[float, dict[str, float]]
#: The stages in the order a job passes them (seconds each, from the job record).
STAGES = (
    "queue_wait", "cache_lookup", "container_create", "container_attach", "container_start",
    "sandbox_boot", "sandbox_numba_cache", "sandbox_stdin", "sandbox_import",
    "sandbox_strategy", "sandbox_load", "sandbox_engine", "sandbox_encode", "sandbox_run",
    "container_exit", "result_check", "container_remove", "result_write",
)  # fmt: skip


async def _submit_and_wait(base: str, headers: dict[str, str], body: dict[str, object]) -> Run:
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
                    record = (await c.get(f"/api/v1/backtests/{job_id}")).json()
                    return elapsed, record.get("stages") or {}
    raise RuntimeError("socket closed before the result")


async def _measure(base: str, start_ms: int, end_ms: int) -> tuple[list[Run], list[Run]]:
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


def _pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _print_stages(runs: list[Run]) -> None:
    """Median seconds per stage over the runs, and what the record does not cover (POST,
    Kafka both ways, the result's notification and the WebSocket)."""
    inner = {"sandbox_boot", "sandbox_numba_cache", "sandbox_stdin", "sandbox_import",
             "sandbox_strategy", "sandbox_load", "sandbox_engine", "sandbox_encode"}  # fmt: skip
    print("  stage breakdown, fresh (median ms; sandbox_* inside sandbox_run):")
    covered = []
    for _total, stages in runs:
        covered.append(sum(v for k, v in stages.items() if k not in inner and k in STAGES))
    for name in STAGES:
        values = [stages.get(name, 0.0) for _, stages in runs]
        print(f"    {name:<22} {statistics.median(values) * 1000:8.1f}")
    rest = [total - c for (total, _), c in zip(runs, covered, strict=True)]
    print(f"    {'notify+api (rest)':<22} {statistics.median(rest) * 1000:8.1f}")


def _container_overhead(image: str) -> float:
    client = docker.DockerClient(base_url=docker_base_url())
    times = []
    for _ in range(5):
        started = time.perf_counter()
        client.containers.run(image, ["python3", "-c", "pass"], remove=True, network_mode="none")
        times.append(time.perf_counter() - started)
    client.close()
    return statistics.median(times)


def _spare_vs_fresh(image: str, rounds: int = 3) -> tuple[float, float]:
    """Median seconds from a job's arrival to exit of ``python3 -c pass``: creating the
    container then (fresh), or starting one created before (the spare); interleaved."""
    client = docker.DockerClient(base_url=docker_base_url())
    fresh, spare = [], []
    cmd = ["python3", "-c", "pass"]
    for _ in range(rounds):
        started = time.perf_counter()
        c = client.containers.create(image, cmd, network_mode="none", entrypoint=[])
        c.start()
        c.wait()
        fresh.append(time.perf_counter() - started)
        c.remove(force=True)
        c = client.containers.create(image, cmd, network_mode="none", entrypoint=[])
        started = time.perf_counter()
        c.start()
        c.wait()
        spare.append(time.perf_counter() - started)
        c.remove(force=True)
    client.close()
    return statistics.median(fresh), statistics.median(spare)


def _pack_levels(rounds: int = 3) -> tuple[float, float]:
    """Median seconds to pack a year of 1-minute times and equity at zlib level 6 (before)
    and 1 (now), interleaved."""
    import base64
    import zlib

    import numpy as np

    rng = np.random.default_rng(3)
    times = (1_704_067_200_000 + 60_000 * np.arange(525_600)).astype("<f8").tobytes()
    equity = (10_000 * np.exp(np.cumsum(rng.normal(0, 1e-4, 525_600)))).astype("<f8").tobytes()
    out: dict[int, list[float]] = {6: [], 1: []}
    for _ in range(rounds):
        for level in (6, 1):
            started = time.perf_counter()
            for raw in (times, equity):
                base64.b64encode(zlib.compress(raw, level))
            out[level].append(time.perf_counter() - started)
    return statistics.median(out[6]), statistics.median(out[1])


def main() -> None:
    """Start the engines, a Docker engine and the services, measure the backtest latencies and
    print them."""
    with sandbox_stack("backtests", "kwbn", {}) as base:
        if base is None:
            return
        from kwont_marketdata.load import demo_start_ms

        start_ms = demo_start_ms()
        end_ms = start_ms + 365 * 86_400_000
        fresh_runs, cached_runs = asyncio.run(_measure(base, start_ms, end_ms))
        overhead = _container_overhead(os.environ.get("KWONT_SANDBOX_IMAGE", IMAGE))
        fresh, cached = [t for t, _ in fresh_runs], [t for t, _ in cached_runs]
        p50, p99 = _pct(fresh, 0.5), _pct(fresh, 0.99)
        ok = p50 < 1.0 and p99 < 1.5
        print(f"one-year 1m sma_cross (525,600 candles), {RUNS} runs each, POST -> result on WS:")
        print(
            f"  fresh (sandbox container): p50 {p50:.2f} s  p99 {p99:.2f} s  max "
            f"{max(fresh):.2f} s  ({'meets' if ok else 'misses'} p50 < 1 s, p99 < 1.5 s)"
        )
        c50 = _pct(cached, 0.5)
        print(f"  identical (Redis cache):   p50 {c50 * 1000:.1f} ms  max {max(cached) * 1000:.1f}"
              f" ms  ({'meets' if c50 < 0.02 else 'misses'} p50 < 20 ms)")  # fmt: skip
        _print_stages(fresh_runs)
        print(f"  container start-to-exit overhead (python3 -c pass): {overhead:.2f} s")
        fresh_s, spare_s = _spare_vs_fresh(os.environ.get("KWONT_SANDBOX_IMAGE", IMAGE))
        print(f"  python3 -c pass, create+start+exit {fresh_s:.2f} s vs spare start+exit "
              f"{spare_s:.2f} s (3 interleaved)")  # fmt: skip
        z6, z1 = _pack_levels()
        print(f"  packing a year's curves: zlib level 6 {z6 * 1000:.0f} ms vs level 1 "
              f"{z1 * 1000:.0f} ms (3 interleaved)")  # fmt: skip
