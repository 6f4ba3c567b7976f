"""The reaper's and the retries' decisions, as plain functions."""

from __future__ import annotations

import datetime as dt

import pytest
from docker.errors import APIError

from kwont_backtest_runner.attempts import (
    RetryPolicy,
    engine_failure,
    killed_from_outside,
    run_with_retries,
)
from kwont_backtest_runner.outcomes import Failed, Outcome, Succeeded
from kwont_backtest_runner.reaper import ReaperPolicy, verdict

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
POLICY = ReaperPolicy(heartbeat_s=20, run_deadline_s=600, queued_s=300, max_requeues=2)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone() -> None:
    doc = {"status": "running", "started_at": ago(100), "heartbeat_at": ago(3)}
    assert verdict(doc, NOW, POLICY) is None


def test_a_silent_running_job_is_requeued_then_failed_after_the_last_requeue() -> None:
    doc = {"status": "running", "started_at": ago(100), "heartbeat_at": ago(30)}
    assert verdict(doc, NOW, POLICY) == ("requeue", "no heartbeat for 30s")
    action, reason = verdict({**doc, "requeued": 2}, NOW, POLICY) or ("", "")
    assert action == "fail" and "3 times" in reason


def test_a_job_past_the_whole_deadline_fails_even_with_a_heartbeat() -> None:
    doc = {"status": "running", "started_at": ago(700), "heartbeat_at": ago(1)}
    action, reason = verdict(doc, NOW, POLICY) or ("", "")
    assert action == "fail" and "deadline 600s" in reason


def test_a_long_queued_job_is_sent_again_and_a_final_one_never() -> None:
    job = {"job_id": "x"}
    assert verdict({"status": "queued", "job": job, "submitted_at": ago(10)}, NOW, POLICY) is None
    queued = {"status": "queued", "job": job, "submitted_at": ago(400)}
    assert (verdict(queued, NOW, POLICY) or ("",))[0] == "requeue"
    recent = {**queued, "requeued": 1, "requeued_at": ago(5)}
    assert verdict(recent, NOW, POLICY) is None
    for status in ("succeeded", "failed", "cancelled"):
        assert verdict({**queued, "status": status}, NOW, POLICY) is None


def test_a_queued_job_held_in_a_runners_fair_queue_is_left_alone() -> None:
    job = {"job_id": "j"}
    held = {"status": "queued", "job": job, "submitted_at": ago(3600), "held_at": ago(5)}
    assert verdict(held, NOW, POLICY) is None
    assert (verdict({**held, "held_at": ago(3600)}, NOW, POLICY) or ("",))[0] == "requeue"


def test_only_the_engines_failures_are_retried() -> None:
    assert engine_failure(APIError("engine gone")) and engine_failure(ConnectionError("x"))
    assert engine_failure(ValueError("a bug of ours")) is None
    assert killed_from_outside(Failed("killed", "internal"))
    assert killed_from_outside(Failed("timed out after 60s", "timeout")) is None
    assert killed_from_outside(Failed("cancelled", "cancelled")) is None


async def test_retries_are_bounded_and_the_reasons_kept() -> None:
    runs: list[int] = []
    retried: list[tuple[int, str]] = []

    async def run() -> Outcome:
        runs.append(1)
        return Failed("killed", "internal")

    async def on_retry(attempt: int, reason: str) -> None:
        retried.append((attempt, reason))

    out = await run_with_retries(run, lambda: True, RetryPolicy(3, 1.0), on_retry)
    assert len(runs) == 3 and [a for a, _ in retried] == [1, 2]
    assert isinstance(out, Failed) and out.reason.startswith("sandbox failed 3 times")

    async def flaky() -> Outcome:
        runs.append(1)
        if len(runs) == 4:
            raise APIError("dockerd restarting")
        return Succeeded({}, 0.1)

    assert (await run_with_retries(flaky, lambda: True, RetryPolicy(3, 1.0), on_retry)).ok
