"""Does a second replica add capacity? The highest candle rate that keeps the candle ->
fill p99 under 100 ms, with one replica of each trading service (risk, execution,
portfolio) and with two, printed side by side with their ratio.

A step search on one pipeline per replica count (:mod:`bench.pipeline_run`): rates
``BENCH_SCALING_RATES`` (default 10,20,35,50,70,100,140,200 candles/s over 20 symbols) in
ascending order, ``BENCH_SCALING_CANDLES`` candles each (default 300: 15 per symbol, about
twenty signal fills), draining between steps; the search stops at the first rate over the
limit. Short windows, so one step's p99 is nearly its slowest fill: read the ratio, not the
absolute rates. Run alone: ``python -m bench scaling`` (starts its own engines).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from bench.engines import kafka_and_mongo
from bench.pipeline_run import pct, started
from kwont_devstack.mongo_users import MongoEndpoint

RATES = tuple(
    float(r) for r in os.environ.get("BENCH_SCALING_RATES", "10,20,35,50,70,100,140,200").split(",")
)
CANDLES = int(os.environ.get("BENCH_SCALING_CANDLES", "300"))
LIMIT_MS = 100.0


async def highest(
    kafka: str, endpoint: MongoEndpoint, work: Path, engines: dict[str, int], replicas: int
) -> tuple[float, list[str]]:
    """The highest rate of :data:`RATES` whose p99 stayed under the limit (0 if none), and
    one line per step."""
    best, lines = 0.0, []
    steps = len(RATES) * (CANDLES // 20 + 2) + 5
    async with started(kafka, endpoint, work, engines, replicas=replicas, steps=steps) as run:
        for rate in RATES:
            m = await run.publish(rate, CANDLES)
            p99 = pct(m.latencies, 0.99)
            ok = bool(m.latencies) and p99 < LIMIT_MS
            lines.append(f"{rate:.0f}/s (got {m.rate:.0f}): {len(m.latencies)} fills p50 "
                         f"{pct(m.latencies, 0.5):.0f} p99 {p99:.0f} ms, "
                         f"{sum(m.cpu.values()):.2f} cores {'ok' if ok else 'over'}")  # fmt: skip
            if not ok:
                break
            best = rate
    return best, lines


def search(kafka: str, endpoint: MongoEndpoint, work: Path, engines: dict[str, int]) -> None:
    """Both searches, then the side-by-side line."""
    found = {}
    for replicas in (1, 2):
        best, lines = asyncio.run(highest(kafka, endpoint, work, engines, replicas))
        print(f"{replicas} replica(s) of risk, execution, portfolio:", flush=True)
        for line in lines:
            print(f"  {line}", flush=True)
        found[replicas] = best
    one, two = found[1], found[2]
    ratio = f"{two / one:.2f}" if one else "n/a"
    print(f"highest rate with p99 < {LIMIT_MS:.0f} ms: one replica {one:.0f}/s, "
          f"two replicas {two:.0f}/s, ratio {ratio}")  # fmt: skip


def main() -> None:
    """Start the engines and run the search alone."""
    work = Path(tempfile.mkdtemp(prefix="kwont-bench-scale-"))
    engines: dict[str, int] = {}
    keep = False
    try:
        with kafka_and_mongo(work, engines) as (kafka, endpoint):
            search(kafka, endpoint, work, engines)
    except BaseException:
        keep = True
        print("bench.scaling failed; the logs are in", work)
        raise
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
