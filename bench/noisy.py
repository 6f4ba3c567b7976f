"""Noisy neighbours: another user's gateway reads while one sandbox hammers MongoDB.

Starts the sandbox stack (:mod:`bench.sandbox_stack`: a Docker engine, tansu, SecantusDB,
Redis, the gateway and one backtest-runner with the default per-sandbox bounds at the Mongo
relay). A reader user drives ``GET /api/v1/candles/BTCUSDT`` (a day of 1-minute candles
from MongoDB) and ``GET /api/v1/backtests`` from ``BENCH_NOISY_READERS`` (4) concurrent
clients for ``BENCH_NOISY_SECONDS`` (15) and its p50/p95 is taken in three phases:

(a) no sandbox running;
(b) one sandbox hammering MongoDB for its wall clock: its uploaded strategy reads the whole
    candle collection over and over from as many threads as the relay lets it connect
    (``BENCH_NOISY_HOG=aggregate``: a server-side ``$range``/``$unwind`` aggregation
    instead, which costs the server CPU and almost no bytes);
(c) one sandbox burning its CPU without touching MongoDB.

The sandbox's work costs the 2-core machine CPU either way, so (c) is the fair baseline for
(b): the figure is p95(b) / p95(c), target within 1.2 (what the relay's bounds allow the
database traffic to add beyond a sandbox's own CPU).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

import httpx

from bench.sandbox_stack import PASSWORD, new_trader, sandbox_stack

SECONDS = float(os.environ.get("BENCH_NOISY_SECONDS", "15"))
READERS = int(os.environ.get("BENCH_NOISY_READERS", "4"))
HOG = os.environ.get("BENCH_NOISY_HOG", "reads")
DAY_MS = 86_400_000
TARGET = 1.2

_PRELUDE = """
import gc, threading
from pymongo import MongoClient
from kwont_quant import Signals, Strategy

def _uri():
    return next(o for o in gc.get_objects() if type(o).__name__ == "SandboxJob").mongo
"""
HOG_READS = (
    _PRELUDE
    + """
class Hog(Strategy):
    def generate(self, candles) -> Signals:
        mongo = _uri()
        client = MongoClient(mongo.uri)
        def read():
            while True:
                try:
                    for _ in client[mongo.db][mongo.collection].find({}):
                        pass
                except Exception:
                    pass
        for _ in range(16):
            threading.Thread(target=read, daemon=True).start()
        threading.Event().wait()
"""
)
HOG_AGGREGATE = (
    _PRELUDE
    + """
HUGE = [{"$limit": 1}, {"$project": {"x": {"$range": [0, 2_000_000]}}}, {"$unwind": "$x"},
        {"$group": {"_id": None, "n": {"$sum": 1}}}]

class Hog(Strategy):
    def generate(self, candles) -> Signals:
        mongo = _uri()
        client = MongoClient(mongo.uri)
        def query():
            while True:
                try:
                    list(client[mongo.db][mongo.collection].aggregate(HUGE))
                except Exception:
                    pass
        for _ in range(16):
            threading.Thread(target=query, daemon=True).start()
        threading.Event().wait()
"""
)
BURN = """
from kwont_quant import Signals, Strategy

class Burn(Strategy):
    def generate(self, candles) -> Signals:
        n = 0
        while True:
            n += 1
"""


async def _reads(c: httpx.AsyncClient, h: dict[str, str], start_ms: int) -> list[float]:
    """Latencies (ms) of the reader's requests over SECONDS from READERS clients."""
    deadline = time.monotonic() + SECONDS
    params: dict[str, str | int] = {"start": start_ms, "end": start_ms + DAY_MS, "interval": "1m"}
    out: list[float] = []

    async def one(k: int) -> None:
        n = k
        while time.monotonic() < deadline:
            mark = time.perf_counter()
            if n % 2:
                r = await c.get("/api/v1/backtests", params={"limit": 20}, headers=h)
            else:
                r = await c.get("/api/v1/candles/BTCUSDT", params=params, headers=h)
            r.raise_for_status()
            out.append((time.perf_counter() - mark) * 1000)
            n += 1

    await asyncio.gather(*(one(k) for k in range(READERS)))
    return out


async def _start(c: httpx.AsyncClient, h: dict[str, str], code: str, start_ms: int) -> str:
    """Upload ``code``, wait for its check, submit it, wait until its sandbox runs."""
    r = await c.post("/api/v1/strategies", json={"name": f"n{uuid.uuid4().hex[:6]}",
                                                 "code": code}, headers=h)  # fmt: skip
    sid = r.raise_for_status().json()["id"]
    for _ in range(120):
        doc = (await c.get(f"/api/v1/strategies/{sid}", headers=h)).json()
        status = doc["versions"][-1]["check"]["status"] if "versions" in doc else doc["status"]
        if status in ("valid", "invalid"):
            break
        await asyncio.sleep(0.5)
    body = {"strategy": sid, "params": {}, "symbols": ["BTCUSDT"], "interval": "1m",
            "start": start_ms, "end": start_ms + DAY_MS, "cash": 10_000, "fee_bps": 10}  # fmt: skip
    job = (await c.post("/api/v1/backtests", json=body, headers=h)).raise_for_status().json()
    for _ in range(240):
        doc = (await c.get(f"/api/v1/backtests/{job['job_id']}", headers=h)).json()
        if doc["status"] != "queued":
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(3)  # past the sandbox's boot, into generate()
    return str(job["job_id"])


async def _stop(c: httpx.AsyncClient, h: dict[str, str], job_id: str) -> None:
    await c.delete(f"/api/v1/backtests/{job_id}", headers=h)
    for _ in range(120):
        doc = (await c.get(f"/api/v1/backtests/{job_id}", headers=h)).json()
        if doc["status"] in ("succeeded", "failed", "cancelled"):
            return
        await asyncio.sleep(0.5)


def _p(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[max(0, round(q * len(xs)) - 1)] if xs else float("nan")


async def _run(base: str, start_ms: int) -> dict[str, list[float]]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        form = {"username": "admin", "password": PASSWORD}
        token = (await c.post("/api/v1/auth/token", data=form)).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        reader, noisy = await new_trader(c, admin, "reader"), await new_trader(c, admin, "noisy")
        await _reads(c, reader, start_ms)  # warm-up, not kept
        phases: dict[str, list[float]] = {"a": await _reads(c, reader, start_ms)}
        for name, code in (("b", HOG_AGGREGATE if HOG == "aggregate" else HOG_READS),
                           ("c", BURN)):  # fmt: skip
            job_id = await _start(c, noisy, code, start_ms)
            phases[name] = await _reads(c, reader, start_ms)
            doc = (await c.get(f"/api/v1/backtests/{job_id}", headers=noisy)).json()
            if doc["status"] != "running":
                print(f"  WARNING: phase {name}'s sandbox was {doc['status']} at the end "
                      f"({(doc.get('error') or '')[:160]})")  # fmt: skip
            await _stop(c, noisy, job_id)
        return phases


def main() -> None:
    """Start the stack, measure the three phases and print them with the ratio."""
    image = {"KWONT_SANDBOX_IMAGE": "kwont/sandbox:bench-noisy"}
    settings = {
        "KWONT_SANDBOX_TIMEOUT_S": str(int(SECONDS + 60)),
        "KWONT_RATE_READ_PER_USER": "1000000", "KWONT_RATE_READ_PER_IP": "1000000",
        "KWONT_RATE_SUBMIT_PER_USER": "1000000", "KWONT_RATE_SUBMIT_PER_IP": "1000000",
    }  # fmt: skip
    with sandbox_stack("noisy", "kwno", settings, image) as base:
        if base is None:
            return
        from kwont_marketdata.load import demo_start_ms

        phases = asyncio.run(_run(base, demo_start_ms()))
    label = {"a": "no sandbox", "b": f"sandbox hammering MongoDB ({HOG})",
             "c": "sandbox burning CPU only"}  # fmt: skip
    print(
        f"another user's gateway reads, {READERS} clients x {SECONDS:.0f} s per phase "
        f"(relay: {os.environ.get('KWONT_SANDBOX_RELAY_MAX_CONNECTIONS', '8')} connections, "
        f"{os.environ.get('KWONT_SANDBOX_RELAY_READ_MIB_S', '8')} MiB/s per sandbox):"
    )
    for k, xs in phases.items():
        print(f"  ({k}) {label[k]:<38} n={len(xs):5d}  p50 {statistics.median(xs):7.1f} ms  "
              f"p95 {_p(xs, 0.95):7.1f} ms")  # fmt: skip
    ratio = _p(phases["b"], 0.95) / _p(phases["c"], 0.95)
    print(f"  p95 (b)/(c) = {ratio:.2f} (target <= {TARGET}: "
          f"{'met' if ratio <= TARGET else 'MISSED'})")  # fmt: skip
