"""The reaper: no job stays ``running`` (or ``queued``) forever.

A running job's runner renews its ``heartbeat_at`` every couple of seconds. A job whose
heartbeat stopped (its runner was killed and its message is gone, e.g. the broker lost it)
is put back on ``backtest-jobs`` (``requeued`` counts it), at most ``max_requeues`` times;
after that, or once it ran longer than the whole deadline, it is failed with the reason. A
job queued longer than ``queued_s`` with no runner taking it (its message was lost) is put
back too, once per ``queued_s``. A re-sent job is safe: a final job is answered from what is
stored, and ``backtest_results`` holds one result per job.

Every replica runs one; each decision is a compare-and-set on the job document, so two
reapers never requeue or fail the same job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from kwont_backtest_runner import results
from kwont_common.events import BacktestJob, now_ms
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database

log = logging.getLogger(__name__)
Verdict = tuple[Literal["requeue", "fail"], str] | None


@dataclass(frozen=True)
class ReaperPolicy:
    """The reaper's deadlines (seconds) and how often it may requeue one job."""

    interval_s: float = 5.0
    heartbeat_s: float = 20.0
    """A running job whose heartbeat is older than this lost its runner."""
    run_deadline_s: float = 900.0
    """A job running (since ``started_at``) longer than this is failed, heartbeat or not."""
    queued_s: float = 300.0
    max_requeues: int = 2


def _age(now: dt.datetime, when: Any) -> float | None:
    if not isinstance(when, dt.datetime):
        return None
    if when.tzinfo is None:  # BSON datetimes come back naive (UTC)
        when = when.replace(tzinfo=dt.UTC)
    return float((now - when).total_seconds())


def verdict(doc: dict[str, Any], now: dt.datetime, policy: ReaperPolicy) -> Verdict:
    """What to do with one job document: requeue it, fail it (with the reason), or nothing."""
    requeued = int(doc.get("requeued") or 0)
    if doc.get("status") == "running":
        ran = _age(now, doc.get("started_at"))
        if ran is not None and ran > policy.run_deadline_s:
            return "fail", f"still running after {ran:.0f}s (deadline {policy.run_deadline_s:g}s)"
        silent = _age(now, doc.get("heartbeat_at") or doc.get("started_at"))
        if silent is None or silent <= policy.heartbeat_s:
            return None
        if requeued >= policy.max_requeues:
            return "fail", (f"its runner stopped answering (no heartbeat for {silent:.0f}s), "
                            f"{requeued + 1} times; not retried again")  # fmt: skip
        return "requeue", f"no heartbeat for {silent:.0f}s"
    if doc.get("status") == "queued" and doc.get("job"):
        held = _age(now, doc.get("held_at"))  # in a runner's fair queue, waiting for a slot
        if held is not None and held <= policy.heartbeat_s:
            return None
        waited = _age(now, doc.get("requeued_at") or doc.get("submitted_at"))
        if waited is not None and waited > policy.queued_s:
            if requeued >= policy.max_requeues:
                return "fail", f"queued for {waited:.0f}s {requeued + 1} times; no runner took it"
            return "requeue", f"queued for {waited:.0f}s with no runner"
    return None


def stale_query(now: dt.datetime, policy: ReaperPolicy) -> dict[str, Any]:
    """Documents :func:`verdict` may act on (the rest are not read)."""
    beat = now - dt.timedelta(seconds=policy.heartbeat_s)
    queued = now - dt.timedelta(seconds=policy.queued_s)
    return {"$or": [
        {"status": "running", "heartbeat_at": {"$lt": beat}},
        {"status": "running", "started_at": {"$lt": beat}, "heartbeat_at": None},
        {"status": "queued", "submitted_at": {"$lt": queued}},
    ]}  # fmt: skip


async def reap_once(
    db: Database, producer: EventProducer, policy: ReaperPolicy, runner_id: str
) -> list[tuple[str, str, str]]:
    """One pass; the ``(job_id, action, reason)`` taken."""
    now = results.utcnow()
    done: list[tuple[str, str, str]] = []
    async for doc in db[results.JOBS].find(stale_query(now, policy)).limit(200):
        decided = verdict(doc, now, policy)
        if decided is None:
            continue
        action, reason = decided
        same = {"_id": doc["_id"], "status": doc["status"], "requeued": doc.get("requeued")}
        if action == "fail":
            error = f"reaped by {runner_id}: {reason}"
            won = await db[results.JOBS].update_one(
                same, {"$set": {"status": "failed", "error": error, "finished_at": now,
                                "progress.stage": "done"}},
            )  # fmt: skip
            if won.modified_count:
                job = BacktestJob.model_validate(
                    {"source": "backtest-runner", "event_time": now_ms(), **doc["job"]}
                )
                await producer.publish(results.result_event(job, "failed", runner_id, error=error))
        else:
            won = await db[results.JOBS].update_one(
                same, {"$set": {"status": "queued", "requeued": int(doc.get("requeued") or 0) + 1,
                                "requeued_at": now, "requeue_reason": reason}},
            )  # fmt: skip
            if won.modified_count:
                job = BacktestJob.model_validate(
                    {"source": "backtest-runner", **doc["job"], "event_time": now_ms()}
                )
                await producer.publish(job)
        if won.modified_count:
            log.warning("job %s: %s (%s)", action, reason, doc["_id"], extra={"job_id": doc["_id"]})
            done.append((str(doc["_id"]), action, reason))
    return done


def reaper(
    db: Database, producer: EventProducer, policy: ReaperPolicy, runner_id: str
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """The service task: :func:`reap_once` every ``interval_s`` until stopped."""

    async def reap_jobs(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), policy.interval_s)
                return
            try:
                await reap_once(db, producer, policy, runner_id)
            except Exception:  # the database or broker is away: the next pass tries again
                log.exception("reaper pass failed")

    return reap_jobs
