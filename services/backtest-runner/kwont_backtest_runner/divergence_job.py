"""A ``divergence`` job: re-run a deployment's strategy on the stored candles of a range in
the sandbox, read what the deployment did live in that range, and store the report of
:mod:`kwont_quant.divergence` in ``divergence_reports`` (keyed ``job_id``).

The decisions are plain functions here (:func:`replay_job`, :func:`backtest_side`,
:func:`report_document`); :func:`run` applies them with the runner's sandbox and database.
Status and progress live in the job's ``backtests`` document like any job's, so the
gateway's job plumbing (queued, running, progress, failed) is shared.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from kwont_backtest_runner import results
from kwont_backtest_runner.divergence_inputs import live_events, live_fills
from kwont_backtest_runner.outcomes import Failed, Succeeded
from kwont_common.errors import InvalidMessage
from kwont_common.events import BacktestJob, BacktestResult
from kwont_common.mongo import Database
from kwont_ohlcv import INTERVAL_MS
from kwont_quant.divergence import Report, Trade, divergence
from kwont_quant.divergence_json import report_json
from kwont_quant.divergence_trades import from_backtest, round_trips

REPORTS = "divergence_reports"
#: Backtest trades that did not close on their own inside the range: live has no round
#: trip to compare them with (a position still open at the end of the range).
UNCLOSED = ("end_of_data", "open")


class JobRunner(Protocol):
    """What a divergence job uses of :class:`kwont_backtest_runner.jobs.JobRunner`."""

    db: Database
    runner_id: str

    async def run_sandbox(self, job: BacktestJob, code: str | None) -> Succeeded | Failed:
        """Run ``job`` in the sandbox."""

    async def progress(self, job: BacktestJob, stage: str, fraction: float) -> None:
        """Store and publish a progress update."""


def replay_job(job: BacktestJob) -> BacktestJob:
    """The backtest the sandbox runs for a divergence job: the same strategy, parameters and
    fill model, on the candles from ``warmup_bars`` before the range (so the indicators are
    warm when the range starts, as they were live), as a plain ``backtest``."""
    start = job.start_time - job.warmup_bars * INTERVAL_MS[job.interval]
    return job.model_copy(update={"kind": "backtest", "start_time": max(start, 0)})


def backtest_side(trades: Iterable[Mapping[str, Any]], start_ms: int) -> list[Trade]:
    """The re-run's trades that belong to the range: entered at or after ``start_ms`` (the
    warm-up candles before it only warm the indicators) and closed by the strategy, a stop
    or a liquidation (not by the end of the data)."""
    kept = [
        t
        for t in trades
        if int(t["entry_time_ms"]) >= start_ms and t.get("exit_reason") not in UNCLOSED
    ]
    return from_backtest(kept)


def report_document(job: BacktestJob, report: Report, duration_ms: int) -> dict[str, Any]:
    """The ``divergence_reports`` document of a finished job."""
    return {
        "_id": job.job_id,
        "owner": job.owner,
        "deployment_id": job.deployment_id,
        "account": job.account,
        "symbols": list(job.symbols),
        "interval": job.interval,
        "start_time": job.start_time,
        "end_time": job.end_time,
        "slippage_bps": job.slippage_bps,
        "fee_bps": job.fee_bps,
        "report": report_json(report),
        "duration_ms": duration_ms,
        "created_at": results.utcnow(),
    }


async def run(runner: JobRunner, job: BacktestJob, code: str | None) -> BacktestResult:
    """Run one divergence job to its stored report (or its failure) and the result event.

    Raises:
        InvalidMessage: the job names no deployment or account.
    """
    if not job.deployment_id or not job.account:
        raise InvalidMessage("a divergence job needs deployment_id and account")
    db = runner.db
    await results.mark(
        db, job.job_id, status="running", runner=runner.runner_id,
        started_at=results.utcnow(), progress={"stage": "starting", "fraction": 0.0},
    )  # fmt: skip
    await runner.progress(job, "starting", 0.0)
    started = time.perf_counter()
    outcome = await runner.run_sandbox(replay_job(job), code)
    duration_ms = int((time.perf_counter() - started) * 1000)
    if isinstance(outcome, Failed):
        status = "cancelled" if outcome.cause == "cancelled" else "failed"
        error = f"the backtest re-run failed: {outcome.reason}"
        await results.mark(db, job.job_id, status=status, error=error)
        return results.result_event(
            job, status, runner.runner_id, error=error, duration_ms=duration_ms
        )
    backtest = backtest_side(outcome.raw.get("trades") or [], job.start_time)
    fills = await live_fills(db, job.account, job.symbols, job.start_time, job.end_time)
    events = await live_events(db, job.deployment_id, job.start_time, job.end_time)
    report = divergence(
        round_trips(fills), backtest, events, tolerance_ms=INTERVAL_MS[job.interval]
    )
    doc = report_document(job, report, duration_ms)
    await db[REPORTS].replace_one({"_id": job.job_id}, doc, upsert=True)
    await results.mark(
        db, job.job_id, status="succeeded", error=None,
        progress={"stage": "done", "fraction": 1.0},
    )  # fmt: skip
    summary = doc["report"]["summary"]
    return results.result_event(
        job, "succeeded", runner.runner_id,
        doc={"trade_count": summary["matched"] + summary["missed"] + summary["extra"],
             "duration_ms": duration_ms},
    )  # fmt: skip
