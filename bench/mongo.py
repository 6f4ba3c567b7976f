"""MongoDB round trip: Motor (the driver Kwont used before) against PyMongo's AsyncMongoClient.

Starts its own SecantusDB, stores one small document, then times ``find_one`` by ``_id``
with each driver in the same process and event loop: ``ROUNDS`` sequential round trips per
run, three runs, the drivers interleaved so that noise on the shared cores falls on both.
Also times 8 round trips in flight at once (``asyncio.gather``), the shape of a service
handling several keys. Motor is a bench-only dependency (requirements-dev.txt); the
services use ``kwont_common.mongo``, on AsyncMongoClient.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient

from bench.engines import throwaway_mongo

ROUNDS = int(os.environ.get("BENCH_MONGO_ROUNDS", "2000"))
RUNS = 3
CONCURRENCY = 8


async def _sequential(find: Callable[[], Awaitable[Any]]) -> float:
    """Microseconds per round trip, one after another."""
    started = time.perf_counter()
    for _ in range(ROUNDS):
        await find()
    return (time.perf_counter() - started) / ROUNDS * 1e6


async def _concurrent(find: Callable[[], Awaitable[Any]]) -> float:
    """Microseconds per round trip with CONCURRENCY in flight."""
    started = time.perf_counter()
    for _ in range(ROUNDS // CONCURRENCY):
        await asyncio.gather(*(find() for _ in range(CONCURRENCY)))
    return (time.perf_counter() - started) / (ROUNDS // CONCURRENCY * CONCURRENCY) * 1e6


async def _measure(uri: str) -> dict[tuple[str, str], list[float]]:
    motor: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(uri)
    native: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    await native.kwont.bench.replace_one({"_id": 1}, {"_id": 1, "v": "x" * 100}, upsert=True)
    finds = {
        "motor": lambda: motor.kwont.bench.find_one({"_id": 1}),
        "AsyncMongoClient": lambda: native.kwont.bench.find_one({"_id": 1}),
    }
    for find in finds.values():  # connect and warm both pools
        await _concurrent(find)
    figures: dict[tuple[str, str], list[float]] = {}
    for _ in range(RUNS):
        for name, find in finds.items():
            figures.setdefault((name, "sequential"), []).append(await _sequential(find))
            figures.setdefault((name, "8 in flight"), []).append(await _concurrent(find))
    motor.close()
    await native.close()
    return figures


def main() -> None:
    """Print the per-round-trip time of each driver and the ratio."""
    with throwaway_mongo("kwont-bench-mongo-") as mongo:
        figures = asyncio.run(_measure(mongo.app_uri))
    print(f"find_one by _id on SecantusDB, {ROUNDS} round trips x {RUNS} runs, interleaved")
    print(f"{'driver':<18} {'shape':<12} {'median us':>10} {'min':>8} {'max':>8}")
    for (name, shape), runs in figures.items():
        print(
            f"{name:<18} {shape:<12} {statistics.median(runs):>10.0f}"
            f" {min(runs):>8.0f} {max(runs):>8.0f}"
        )
    for shape in ("sequential", "8 in flight"):
        ratio = statistics.median(figures[("motor", shape)]) / statistics.median(
            figures[("AsyncMongoClient", shape)]
        )
        print(f"  {shape}: AsyncMongoClient is {ratio:.2f}x Motor's speed (median of {RUNS})")


if __name__ == "__main__":
    main()
