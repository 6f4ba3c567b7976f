"""Fair queues and quotas under load: 20 users submit 5 backtests each while one user submits
200.

Starts its own engines (tansu, SecantusDB, Redis; a Docker engine if none answers), seeds the
demo data, runs the gateway and one backtest-runner (``KWONT_JOB_SLOTS`` slots, 1 by
default) as processes. The heavy user fires its 200 submissions first; the light users start
half a second later. Each job is a short sandboxed backtest (one day of 1-minute candles,
distinct parameters, so no cache hit). Then every accepted job is followed to its end.

Printed and checked: every accepted job ends (succeeded, or failed with a reason), none
lost; 429s only for the heavy user (its quota, ``KWONT_QUOTA_MAX_QUEUED``, is the default
50); the light users' p50/p95/max wait (submission to start); and the fairness bound itself:
how many of the heavy user's jobs started while a light job waited, which with per-user round
robin is at most the light job's place in its own user's queue plus the jobs already running
(5 + slots here), and with a first-in-first-out queue would be up to the heavy user's whole
backlog.

Scale it with ``BENCH_FAIR_LIGHT_USERS``, ``BENCH_FAIR_LIGHT_JOBS``, ``BENCH_FAIR_HEAVY_JOBS``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import time
from typing import Any

import httpx

from bench.sandbox_stack import PASSWORD, new_trader, sandbox_stack

LIGHT_USERS = int(os.environ.get("BENCH_FAIR_LIGHT_USERS", "20"))
LIGHT_JOBS = int(os.environ.get("BENCH_FAIR_LIGHT_JOBS", "5"))
HEAVY_JOBS = int(os.environ.get("BENCH_FAIR_HEAVY_JOBS", "200"))
SLOTS = int(os.environ.get("KWONT_JOB_SLOTS", "1"))
TERMINAL = ("succeeded", "failed", "cancelled")
DAY_MS = 86_400_000


def _body(start_ms: int, n: int) -> dict[str, Any]:
    """A short backtest whose parameters differ for every ``n`` (no cache hits)."""
    return {"strategy": "sma_cross", "params": {"fast": 2 + n % 40, "slow": 50 + n // 40},
            "symbols": ["BTCUSDT"], "interval": "1m", "start": start_ms,
            "end": start_ms + DAY_MS, "cash": 10_000, "fee_bps": 10}  # fmt: skip


async def _submit_all(c: httpx.AsyncClient, headers: dict[str, str], bodies: list[dict[str, Any]]
                      ) -> tuple[list[str], int]:  # fmt: skip
    """Submit in turn; (accepted job ids, 429 count). Anything else is an error."""
    accepted, refused = [], 0
    for body in bodies:
        r = await c.post("/api/v1/backtests", json=body, headers=headers)
        if r.status_code == 429:
            assert r.headers.get("Retry-After"), "a 429 without Retry-After"
            refused += 1
        else:
            accepted.append(r.raise_for_status().json()["job_id"])
    return accepted, refused


async def _follow(c: httpx.AsyncClient, headers: dict[str, str], ids: list[str],
                  wait_s: float) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Poll each job until it is final (or the deadline passes); its last state by id."""
    docs: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for job_id in ids:
            if job_id not in docs or docs[job_id]["status"] not in TERMINAL:
                r = await c.get(f"/api/v1/backtests/{job_id}", headers=headers)
                docs[job_id] = r.raise_for_status().json()
        if all(d["status"] in TERMINAL for d in docs.values()):
            break
        await asyncio.sleep(2)
    return docs


def _ts(value: str | None) -> float:
    return dt.datetime.fromisoformat(value).timestamp() if value else float("inf")


async def _load(base: str, start_ms: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        form = {"username": "admin", "password": PASSWORD}
        token = (await c.post("/api/v1/auth/token", data=form)).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        heavy = await new_trader(c, admin, "heavy")
        light = [await new_trader(c, admin, f"light{i:02d}") for i in range(LIGHT_USERS)]
        started = time.perf_counter()
        heavy_task = asyncio.create_task(
            _submit_all(c, heavy, [_body(start_ms, n) for n in range(HEAVY_JOBS)])
        )
        await asyncio.sleep(0.5)
        light_results = await asyncio.gather(*(
            _submit_all(c, h, [_body(start_ms, 1000 + i * LIGHT_JOBS + k)
                               for k in range(LIGHT_JOBS)])
            for i, h in enumerate(light)
        ))  # fmt: skip
        heavy_ids, heavy_429 = await heavy_task
        per_job = max(60.0, 10.0 * (len(heavy_ids) + LIGHT_USERS * LIGHT_JOBS))
        heavy_docs = await _follow(c, heavy, heavy_ids, per_job)
        light_docs: dict[str, dict[str, Any]] = {}
        for h, (ids, _) in zip(light, light_results, strict=True):
            light_docs.update(await _follow(c, h, ids, per_job))
        elapsed = time.perf_counter() - started
    _report(heavy_docs, heavy_429, light_docs, sum(r for _, r in light_results), elapsed)


def _report(heavy: dict[str, dict[str, Any]], heavy_429: int,
            light: dict[str, dict[str, Any]], light_429: int, elapsed: float) -> None:  # fmt: skip
    every = {**heavy, **light}
    ended = [d for d in every.values() if d["status"] in TERMINAL]
    failed = [d for d in ended if d["status"] == "failed"]
    lost = len(every) - len(ended)
    waits = sorted(_ts(d["started_at"]) - _ts(d["submitted_at"]) for d in light.values())
    heavy_starts = sorted(_ts(d["started_at"]) for d in heavy.values())
    overtaken = [
        sum(1 for s in heavy_starts if _ts(d["submitted_at"]) < s < _ts(d["started_at"]))
        for d in light.values()
    ]
    bound = LIGHT_JOBS + SLOTS
    runs = [_ts(d["finished_at"]) - _ts(d["started_at"]) for d in ended if d["started_at"]]
    p95 = waits[max(0, round(0.95 * len(waits)) - 1)] if waits else float("nan")
    print(f"fair queues (under load: machine shared), {SLOTS} slot(s), {elapsed:.0f}s in all:")
    print(f"  heavy: {HEAVY_JOBS} submitted, {len(heavy)} accepted, {heavy_429} answered 429")
    print(f"  light: {LIGHT_USERS} users x {LIGHT_JOBS}, {len(light)} accepted, "
          f"{light_429} answered 429 ({'ok' if light_429 == 0 else 'WRONG'})")  # fmt: skip
    print(f"  jobs: {len(ended)} ended ({len(failed)} failed with a reason), {lost} lost "
          f"({'ok' if lost == 0 else 'WRONG'})")  # fmt: skip
    if runs:
        print(f"  run time per job: p50 {statistics.median(runs):.2f} s")
    if waits:
        print(f"  light wait (submit -> start): p50 {statistics.median(waits):.1f} s  p95 "
              f"{p95:.1f} s  max {waits[-1]:.1f} s")  # fmt: skip
        worst = max(overtaken)
        print(f"  heavy jobs started while a light job waited: max {worst} (bound {bound}: "
              f"{'holds' if worst <= bound else 'EXCEEDED'}; first-in-first-out: up to "
              f"{len(heavy)})")  # fmt: skip
    for d in failed[:3]:
        print(f"  failed {d['id']}: {(d.get('error') or '')[:120]}")


def main() -> None:
    """Start the engines, a Docker engine and the services, run the load and print it."""
    # its own image tag: another checkout rebuilding kwont/sandbox:latest on the same engine
    # mid-run must not swap the image under this runner
    image = {"KWONT_SANDBOX_IMAGE": "kwont/sandbox:bench-fairness"}
    settings = {
        "KWONT_JOB_SLOTS": str(SLOTS),
        # one client IP for everyone: the rate limits must not be what refuses
        "KWONT_RATE_SUBMIT_PER_USER": "1000000", "KWONT_RATE_SUBMIT_PER_IP": "1000000",
        "KWONT_RATE_READ_PER_USER": "1000000", "KWONT_RATE_READ_PER_IP": "1000000",
    }  # fmt: skip
    with sandbox_stack("fairness", "kwfr", settings, image) as base:
        if base is None:
            return
        from kwont_marketdata.load import demo_start_ms

        asyncio.run(_load(base, demo_start_ms()))


if __name__ == "__main__":
    main()
