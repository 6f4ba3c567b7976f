"""Live pipeline latency: a closed candle published to its paper fill stored, and how the
trading services scale.

Starts its own engines (tansu, SecantusDB) and, per run, strategy, risk, execution and
portfolio as processes over 20 symbols (:mod:`bench.pipeline_run`). Three runs, each on a
fresh pipeline: first ``BENCH_PIPELINE_SLOW_S`` seconds (default 30) at 5 candles a second,
the demo's pace, then ``BENCH_PIPELINE_S`` (default 20) at the target's 100 (in this order:
a saturated window leaves the database busy for a while and would spoil the quieter one).
So the two rates interleave over the three runs, and the printed figure is the median of
the three runs' p50/p99. Each run prints every process's CPU (engines, services, the
publisher) over the window, in cores. Targets: p99 under 50 ms at 100 candles/s, p50 under
20 ms at 5.

``BENCH_PIPELINE_COMPARE="KWONT_SOME_SETTING=value,..."`` runs each of the three runs
twice, as is and with those settings in every service's environment, interleaved, and
prints the summary of each; ``BENCH_PIPELINE_S=0`` leaves out the 100 candles/s window and
``BENCH_SCALING=0`` the scaling search.

Then :mod:`bench.scaling`: the highest rate that keeps p99 under 100 ms, with one replica
of each trading service and with two, side by side with their ratio.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import scaling
from bench.engines import kafka_and_mongo
from bench.pipeline_run import SYMBOLS, Measured, pct, started
from kwont_devstack.mongo_users import MongoEndpoint

RUNS = int(os.environ.get("BENCH_PIPELINE_RUNS", "3"))
SLOW_S = float(os.environ.get("BENCH_PIPELINE_SLOW_S", "30"))
FAST_S = float(os.environ.get("BENCH_PIPELINE_S", "20"))
WINDOWS = tuple((r, t) for r, t in ((5.0, SLOW_S), (100.0, FAST_S)) if t > 0)  # (rate, s)
COMPARE = os.environ.get("BENCH_PIPELINE_COMPARE", "")
SCALING = os.environ.get("BENCH_SCALING", "1") != "0"
TARGETS = {5.0: ("p50", 20.0), 100.0: ("p99", 50.0)}


def cpu_line(cpu: dict[str, float]) -> str:
    """Each process's cores, busiest first, and their total."""
    parts = [f"{n} {c:.2f}" for n, c in sorted(cpu.items(), key=lambda kv: -kv[1])]
    return f"CPU cores: total {sum(cpu.values()):.2f} = " + ", ".join(parts)


def report(rate: float, m: Measured) -> None:
    """One window's lines: latency, stages, the slowest fills, CPU."""
    lat = m.latencies
    print(f"  {rate:.0f}/s: {m.candles} candles at {m.rate:.1f}/s over {len(SYMBOLS)} symbols, "
          f"{len(lat)} signal fills: p50 {pct(lat, 0.5):.1f} ms  p99 {pct(lat, 0.99):.1f} ms  "
          f"max {max(lat, default=float('nan')):.1f} ms")  # fmt: skip
    stages = "  ".join(f"{k} {pct(v, 0.5):.0f}/{pct(v, 0.99):.0f}" for k, v in m.stages.items())
    print(f"    stage p50/p99 ms: {stages}")
    print("    slowest fills ms (total = strategy + risk + execution, leg): " + "  ".join(
        f"{t:.0f}={a:.0f}+{b:.0f}+{c:.0f} {leg}" for t, a, b, c, leg in m.slowest
    ))  # fmt: skip
    print(f"    {cpu_line(m.cpu)}", flush=True)


async def one_run(
    kafka: str, endpoint: MongoEndpoint, work: Path, engines: dict[str, int],
    env: dict[str, str],
) -> dict[float, Measured]:  # fmt: skip
    """A fresh pipeline, each window in turn."""
    steps = sum(int(r * s / len(SYMBOLS)) + 2 for r, s in WINDOWS) + 5
    out = {}
    async with started(kafka, endpoint, work, engines, steps=steps, env=env) as run:
        for rate, seconds in WINDOWS:
            out[rate] = await run.publish(rate, int(rate * seconds))
            report(rate, out[rate])
    return out


def summary(runs: list[dict[float, Measured]], label: str) -> None:
    """The medians over the runs, per rate, against the targets."""
    print(f"{label}:")
    for rate, _ in WINDOWS:
        got = [r[rate] for r in runs if r[rate].latencies]
        if not got:
            print(f"{rate:.0f} candles/s: no fills measured")
            continue
        p50s = [pct(m.latencies, 0.5) for m in got]
        p99s = [pct(m.latencies, 0.99) for m in got]
        pooled = [x for m in got for x in m.latencies]
        cores = [sum(m.cpu.values()) for m in got]
        which, target = TARGETS[rate]
        value = statistics.median(p50s if which == "p50" else p99s)
        print(f"candle published -> paper fill stored, {rate:.0f} candles/s over "
              f"{len(SYMBOLS)} symbols, {len(got)} runs: p50 "
              f"{' '.join(f'{x:.0f}' for x in p50s)} (median {statistics.median(p50s):.1f}) ms, "
              f"p99 {' '.join(f'{x:.0f}' for x in p99s)} (median {statistics.median(p99s):.1f}) "
              f"ms; pooled {len(pooled)} fills p50 {pct(pooled, 0.5):.1f} p99 "
              f"{pct(pooled, 0.99):.1f} ms; CPU {' '.join(f'{c:.2f}' for c in cores)} cores; "
              f"{which} target {target:.0f} ms: {'met' if value < target else 'MISSED'}"
              )  # fmt: skip


def _overrides(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    return {k.strip(): v.strip() for k, v in pairs}


def main() -> None:
    """Start the engines; the latency runs; then the scaling search."""
    work = Path(tempfile.mkdtemp(prefix="kwont-bench-pipe-"))
    keep = False  # the engines' data and the services' logs, kept only when a run failed
    engines: dict[str, int] = {}
    try:
        with kafka_and_mongo(work, engines) as (kafka, endpoint):
            variants = {"as is": {}} | ({COMPARE: _overrides(COMPARE)} if COMPARE else {})
            runs: dict[str, list[dict[float, Measured]]] = {label: [] for label in variants}
            for i in range(RUNS):
                for label, env in variants.items():
                    print(f"run {i + 1}/{RUNS} ({label}):", flush=True)
                    runs[label].append(asyncio.run(one_run(kafka, endpoint, work, engines, env)))
            for label, got in runs.items():
                summary(got, label)
                if not all(m.latencies for r in got for m in r.values()):
                    keep = True
                    print("bench.pipeline: a window measured no fills; see the logs in", work)
            if SCALING:
                scaling.search(kafka, endpoint, work, engines)
    except BaseException:
        keep = True
        print("bench.pipeline failed; the engines' data and the logs are in", work)
        raise
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
