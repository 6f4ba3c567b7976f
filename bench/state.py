"""The hot-path cost of the partition state store against a database write per input.

Starts its own SecantusDB. Per input, two ways to keep an account's count:

- ``store``: :class:`kwont_common.state.PartitionStore` ``apply`` + ``mark`` (in memory),
  its write-behind flush running every 200 ms in the same event loop, so its cost is in
  the total;
- ``mongo``: one ``update_one`` with ``$inc`` per input on the account's document, what the
  services do today (a compare-and-set write per change).

``ROUNDS`` inputs over 64 accounts on 8 partitions per run, three runs, interleaved. Prints
microseconds per input (median, min, max) and the hot-path part alone for the store.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

from aiokafka import TopicPartition
from pymongo import AsyncMongoClient

from bench.engines import throwaway_mongo
from kwont_common.state import PartitionStore

ROUNDS = int(os.environ.get("BENCH_STATE_ROUNDS", "2000"))
RUNS = 3
PARTITIONS = 8
ACCOUNTS = [f"acct{i}" for i in range(64)]


def _bump(account: str) -> Any:
    def change(state: dict[str, int]) -> None:
        state[account] = state.get(account, 0) + 1

    return change


async def _store(coll: Any, run: int) -> tuple[float, float, int]:
    """(us per input including the flushes, us per input on the hot path, documents)."""
    store: PartitionStore[dict[str, int]] = PartitionStore(
        coll, f"bench{run}", new=dict, dump=lambda s: {"counts": dict(s)}, load=dict
    )
    await store.assign({TopicPartition("fills", p) for p in range(PARTITIONS)})
    await store.start()
    hot = 0.0
    started = time.perf_counter()
    for offset in range(ROUNDS):
        account = ACCOUNTS[offset % len(ACCOUNTS)]
        p = offset % PARTITIONS
        t0 = time.perf_counter()
        store.apply("fills", p, offset // PARTITIONS, _bump(account))
        store.mark("fills", p, offset // PARTITIONS)
        hot += time.perf_counter() - t0
        await asyncio.sleep(0)  # a handler yields at least once per input (its publish)
    await store.stop()
    total = time.perf_counter() - started
    return total / ROUNDS * 1e6, hot / ROUNDS * 1e6, store.writes


async def _mongo(coll: Any) -> float:
    started = time.perf_counter()
    for offset in range(ROUNDS):
        account = ACCOUNTS[offset % len(ACCOUNTS)]
        await coll.update_one({"_id": account}, {"$inc": {"count": 1}}, upsert=True)
    return (time.perf_counter() - started) / ROUNDS * 1e6


async def _measure(uri: str) -> dict[str, list[float]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    db = client.kwont
    await db.bench_counts.update_one({"_id": "warm"}, {"$inc": {"count": 1}}, upsert=True)
    figures: dict[str, list[float]] = {}
    for run in range(RUNS):
        total, hot, docs = await _store(db.bench_state, run)
        figures.setdefault("store, with its flushes", []).append(total)
        figures.setdefault("store, apply + mark only", []).append(hot)
        figures.setdefault("store: snapshot documents written", []).append(docs)
        figures.setdefault("mongo update_one per input", []).append(await _mongo(db.bench_counts))
    await client.close()
    return figures


def main() -> None:
    """Print microseconds per input for the store and for a write per input."""
    with throwaway_mongo("kwont-bench-state-") as mongo:
        figures = asyncio.run(_measure(mongo.app_uri))
    print(f"{ROUNDS} inputs over {len(ACCOUNTS)} accounts x {RUNS} runs, interleaved")
    print(f"{'way':<36} {'median':>10} {'min':>10} {'max':>10}")
    for name, runs in figures.items():
        print(f"{name:<36} {statistics.median(runs):>10.1f} {min(runs):>10.1f} {max(runs):>10.1f}")
    ratio = statistics.median(figures["mongo update_one per input"]) / statistics.median(
        figures["store, with its flushes"]
    )
    print(f"  a write per input costs {ratio:.0f}x the store per input (median of {RUNS}; us)")


if __name__ == "__main__":
    main()
