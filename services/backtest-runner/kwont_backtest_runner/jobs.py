"""Handling one ``backtest-jobs`` message: cache, sandbox, store, publish.

At-least-once: a job whose runner died is redelivered to another replica. The job's status
document and the unique ``backtest_results`` key make that safe: a finished job is answered
from what is stored (same result event id), never run into a second result.

A job that cannot be handled (a broken stored strategy, a bug here) fails at once with its
cause: the status document says ``failed`` with the reason, a failed result is published,
and the message is dead-lettered with that reason. Only transient errors (MongoDB, Kafka)
are retried; running the sandbox again would give the same answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import tempfile
import time
from pathlib import Path
from typing import Any, cast, get_args

from aiokafka.errors import KafkaError

from kwont_backtest_runner import divergence_job, results
from kwont_backtest_runner.attempts import RetryPolicy, engine_answers, run_with_retries
from kwont_backtest_runner.checks import write_strategy
from kwont_backtest_runner.outcomes import Failed, Succeeded
from kwont_backtest_runner.sandbox import Sandbox
from kwont_backtest_runner.scheduler import Scheduler
from kwont_common import backtest_trades
from kwont_common.backtest_cache import (
    ResultCache,
    alias_document,
    content_hash,
    still_stored,
    summary,
)
from kwont_common.errors import InvalidMessage, is_transient
from kwont_common.events import (
    BacktestJob,
    BacktestProgress,
    BacktestResult,
    DeadLetter,
    now_ms,
)
from kwont_common.events.backtest_progress import Stage
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from kwont_quant import ENGINE_VERSION

log = logging.getLogger(__name__)
CANCEL_POLL_S = 0.5
HEARTBEAT_S = 2.0  # a running job's ``heartbeat_at`` is renewed this often (the reaper's clock)


class JobRunner:
    """Runs jobs for one runner replica."""

    def __init__(
        self, db: Database, cache: ResultCache, sandbox: Sandbox, producer: EventProducer,
        runner_id: str, retry: RetryPolicy | None = None, scheduler: Scheduler | None = None,
    ) -> None:  # fmt: skip
        self.db, self.cache, self.sandbox = db, cache, sandbox
        self.producer, self.runner_id = producer, runner_id
        self.retry = retry or RetryPolicy()
        self.scheduler = scheduler or Scheduler(slots=1)

    async def on_job(self, job: BacktestJob) -> BacktestResult | None:
        """Handle one job; the returned result event is published before the commit.

        Raises:
            InvalidMessage: the job could not be handled; it is marked ``failed`` with the
                cause first (the consumer dead-letters the message, without retrying).
            Transient errors of MongoDB and any Kafka error (a broker that lost its topics
            answers publishes with errors until they are back), which the consumer retries.
        """
        try:
            async with self.scheduler.turn(job.owner, job.job_id):  # fair between owners
                return await self._handle(job)
        except Exception as exc:
            if is_transient(exc) or isinstance(exc, KafkaError):  # never the job's fault
                raise
            cause = self.sandbox.redact(str(exc) if isinstance(exc, InvalidMessage)
                                        else f"{type(exc).__name__}: {exc}")  # fmt: skip
            await self._fail(job, f"job could not be handled: {cause}")
            raise InvalidMessage(cause) from exc

    async def on_dead_letter(self, letter: DeadLetter) -> None:
        """A job message that was dead-lettered marks its job ``failed`` with the cause.

        Covers the messages ``on_job`` never saw (they did not decode as a job): the key is
        the job id. A job ``on_job`` already failed, or one that is final, is left as it is.
        """
        if not letter.original_topic.endswith("backtest-jobs") or not letter.original_key:
            return
        cause = self.sandbox.redact(letter.error.splitlines()[0] if letter.error else "")
        error = f"job message could not be read ({letter.error_type}): {cause}"
        if await results.fail(self.db, letter.original_key, error):
            log.error("job failed: %s", error, extra={"job_id": letter.original_key})

    async def _fail(self, job: BacktestJob, error: str) -> None:
        """Mark a job that is not final yet ``failed`` and publish its failed result."""
        log.error("job failed: %s", error, extra={"job_id": job.job_id})
        if not await results.fail(self.db, job.job_id, error):
            return
        event = results.result_event(job, "failed", self.runner_id, error=error)
        try:
            await self.producer.publish(event)
        except Exception:  # the status document already tells; the dead letter follows
            log.exception("could not publish the failed result", extra={"job_id": job.job_id})

    async def _handle(self, job: BacktestJob) -> BacktestResult | None:
        stages = {"queue_wait": max(now_ms() - job.event_time, 0) / 1000}  # seconds each
        mark = time.perf_counter()
        state = await results.job_state(self.db, job)
        if state["status"] in results.FINAL:
            return await self._republish(job, state)
        if state["status"] == "cancelling":
            await results.mark(self.db, job.job_id, status="cancelled")
            return results.result_event(job, "cancelled", self.runner_id, error="cancelled")
        code = await self._strategy_code(job)
        if job.kind == "divergence":
            return await divergence_job.run(self, job, code)
        digest = hashlib.sha256(code.encode()).hexdigest() if code is not None else None
        key = content_hash(job, ENGINE_VERSION, digest)
        cached = await self.cache.get(key)
        if cached is not None and await still_stored(self.db, cached):
            stages["cache_lookup"] = time.perf_counter() - mark
            return await self._store(job, alias_document(job, cached, key), key, True, stages)
        stages["cache_lookup"] = time.perf_counter() - mark
        await results.mark(
            self.db, job.job_id, status="running", runner=self.runner_id,
            started_at=results.utcnow(), heartbeat_at=results.utcnow(),
            progress={"stage": "starting", "fraction": 0.0},
        )  # fmt: skip
        await self._progress(job, "starting", 0.0)
        started = time.perf_counter()
        outcome = await self._run(job, code)
        duration_ms = int((time.perf_counter() - started) * 1000)
        stages.update(outcome.stages)
        if isinstance(outcome, Failed):
            status = "cancelled" if outcome.cause == "cancelled" else "failed"
            error = outcome.reason + (f"\n{outcome.traceback}" if outcome.traceback else "")
            await results.mark(self.db, job.job_id, status=status, error=error, stages=stages)
            return results.result_event(
                job, status, self.runner_id, error=error, duration_ms=duration_ms
            )
        mark = time.perf_counter()
        doc = results.result_document(job, outcome.result, key, duration_ms, False)
        await backtest_trades.store(self.db, job.job_id, job.owner, outcome.raw.get("trades") or [])
        stages["result_write"] = time.perf_counter() - mark
        event = await self._store(job, doc, key, False, stages)
        await self.cache.put(key, summary(doc))
        return event

    async def _store(
        self, job: BacktestJob, doc: dict[str, Any], key: str, from_cache: bool,
        stages: dict[str, float],
    ) -> BacktestResult:  # fmt: skip
        mark = time.perf_counter()
        if not await results.store_result(self.db, doc):
            stored = await self.db[results.RESULTS].find_one({"_id": job.job_id})
            doc = stored or doc
        stages["result_write"] = stages.get("result_write", 0.0) + time.perf_counter() - mark
        await results.mark(
            self.db, job.job_id, status="succeeded", from_cache=from_cache, error=None,
            progress={"stage": "done", "fraction": 1.0}, content_hash=key, stages=stages,
        )  # fmt: skip
        return results.result_event(job, "succeeded", self.runner_id, doc=doc)

    async def _republish(self, job: BacktestJob, state: dict[str, Any]) -> BacktestResult:
        doc = await self.db[results.RESULTS].find_one({"_id": job.job_id})
        log.info("job already %s; re-publishing its result", state["status"],
                 extra={"job_id": job.job_id})  # fmt: skip
        return results.result_event(job, state["status"], self.runner_id, doc=doc,
                                    error=state.get("error"))  # fmt: skip

    async def _strategy_code(self, job: BacktestJob) -> str | None:
        """Uploaded source for a stored strategy (None for a built-in).

        Raises:
            InvalidMessage: the stored strategy or version does not exist for this owner, or
                its code does not match the job's hash.
        """
        if job.strategy.builtin:
            return None
        doc = await self.db.strategies.find_one({"_id": job.strategy.name, "owner": job.owner})
        if doc is None:
            raise InvalidMessage(f"strategy {job.strategy.name} not found")
        versions = doc.get("versions") or []
        wanted = job.strategy.version or doc.get("latest_version")
        match = [v for v in versions if v.get("version") == wanted]
        if not match:
            raise InvalidMessage(f"strategy {job.strategy.name} v{wanted} not found")
        code: str = match[0]["code"]
        digest = hashlib.sha256(code.encode()).hexdigest()
        if job.strategy.code_sha256 and digest != job.strategy.code_sha256:
            raise InvalidMessage("strategy code changed since the job was submitted")
        return code

    async def run_sandbox(self, job: BacktestJob, code: str | None) -> Succeeded | Failed:
        """Run ``job`` in the sandbox, publishing its progress, killed on a cancel."""
        return await self._run(job, code)

    async def progress(self, job: BacktestJob, stage: str, fraction: float) -> None:
        """Store and publish a progress update of ``job``."""
        await self._progress(job, stage, fraction)

    async def _run(self, job: BacktestJob, code: str | None) -> Succeeded | Failed:
        updates: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        last = [0.0]

        def on_progress(stage: str, fraction: float) -> None:
            if fraction - last[0] >= 0.05 or fraction >= 1.0:  # at most ~20 events a job
                last[0] = fraction
                updates.put_nowait((stage, fraction))

        async def publish_progress() -> None:  # one at a time, in order
            while (update := await updates.get()) is not None:
                await self._progress(job, *update)

        publisher = asyncio.create_task(publish_progress())
        watcher = asyncio.create_task(self._watch_cancel(job.job_id))
        try:
            with tempfile.TemporaryDirectory(prefix="kwont-strategy-") as tmp:
                path = (
                    None
                    if code is None
                    else await asyncio.to_thread(write_strategy, Path(tmp), code)
                )
                payload = job.model_dump(mode="json")

                async def on_retry(attempt: int, reason: str) -> None:
                    await results.mark(self.db, job.job_id, attempts=attempt,
                                       attempt_error=reason)  # fmt: skip

                return await run_with_retries(
                    lambda: self.sandbox.run_async(payload, path, on_progress),
                    lambda: engine_answers(self.sandbox.client), self.retry, on_retry,
                )  # fmt: skip
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            updates.put_nowait(None)
            await publisher

    async def _watch_cancel(self, job_id: str) -> None:
        """Kill the container when the gateway marks the job ``cancelling``; renew the job's
        heartbeat meanwhile (a job whose heartbeat stops is the reaper's)."""
        beat = time.monotonic()
        while True:
            await asyncio.sleep(CANCEL_POLL_S)
            if time.monotonic() - beat >= HEARTBEAT_S:
                beat = time.monotonic()
                with contextlib.suppress(Exception):  # a missed beat is not the job's failure
                    await results.mark(self.db, job_id, heartbeat_at=results.utcnow())
            doc = await self.db[results.JOBS].find_one({"_id": job_id}, {"status": 1})
            if doc and doc.get("status") == "cancelling":
                await asyncio.to_thread(self.sandbox.cancel, job_id)
                return

    async def _progress(self, job: BacktestJob, stage: str, fraction: float) -> None:
        await results.mark(self.db, job.job_id, progress={"stage": stage, "fraction": fraction})
        await self.producer.publish(
            BacktestProgress(
                event_time=now_ms(), source="backtest-runner", job_id=job.job_id,
                stage=_stage(stage), fraction=fraction, runner=self.runner_id,
            )
        )  # fmt: skip


def _stage(stage: str) -> Stage:
    """A sandbox stage as a progress stage: its own names ("backtest", "optimize") are the
    ``running`` stage."""
    return cast(Stage, stage) if stage in get_args(Stage) else "running"
