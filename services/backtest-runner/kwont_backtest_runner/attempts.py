"""Bounded retries of a sandbox run that failed for the engine's sake, not the job's.

A job's own failures (its strategy raised, a limit was hit, it was cancelled) are final: a
second run gives the same answer. Two are not the job's doing and are retried, at most
``sandbox_attempts`` runs in all:

- the Docker engine failed under the run (dockerd restarted or unreachable): the attach
  stream ends and the next Docker call raises;
- the container was killed from outside (``kill -9`` of its process, ``docker kill``, the
  engine's restart): it exits 137 with no result, no verdict of ours and no OOM.

Between runs the runner waits until the engine answers again (at most
``sandbox_retry_wait_s``). After the last run the job fails with every attempt's reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from docker.errors import DockerException

from kwont_backtest_runner.outcomes import Failed, Outcome

log = logging.getLogger(__name__)
ENGINE_POLL_S = 0.5


def engine_failure(exc: BaseException) -> str | None:
    """The reason to retry when a sandbox run raised ``exc``; None when it is not the
    engine's failure (then it is raised on as it is)."""
    # requests' errors (a refused or dropped engine socket) are OSErrors
    if isinstance(exc, DockerException | OSError):
        first = (str(exc).splitlines() or [""])[0][:200]
        return f"docker engine failed: {type(exc).__name__}: {first}"
    return None


def killed_from_outside(outcome: Outcome) -> str | None:
    """The reason to retry when the run ended with its container killed by someone else."""
    if isinstance(outcome, Failed) and outcome.cause == "internal" and outcome.reason == "killed":
        return "sandbox container killed (exit 137) before it gave a result"
    return None


def engine_answers(client: Any) -> bool:
    """Whether the Docker engine of ``client`` (a ``docker.DockerClient``) answers a ping."""
    try:
        return bool(client.ping())
    except (DockerException, OSError):
        return False


def given_up(reasons: list[str]) -> Failed:
    """The final failure after ``len(reasons)`` runs that each failed for the engine."""
    listed = "; ".join(f"{i}: {r}" for i, r in enumerate(reasons, 1))
    return Failed(f"sandbox failed {len(reasons)} times, not retried again ({listed})", "internal")


@dataclass(frozen=True)
class RetryPolicy:
    """Runs in all, and how long to wait for the engine between two."""

    attempts: int = 3
    engine_wait_s: float = 30.0


async def run_with_retries(
    run: Callable[[], Awaitable[Outcome]],
    engine_up: Callable[[], bool],
    policy: RetryPolicy,
    on_retry: Callable[[int, str], Awaitable[None]],
) -> Outcome:
    """Call ``run`` until it gives an outcome that is not the engine's failure, at most
    ``policy.attempts`` times; ``on_retry(attempt, reason)`` after each failed one (the job
    document records it). ``engine_up`` is polled (on a thread) before the next run."""
    reasons: list[str] = []
    while True:
        try:
            outcome = await run()
            reason = killed_from_outside(outcome)
        except Exception as exc:
            reason = engine_failure(exc)
            if reason is None:
                raise
        if reason is None:
            return outcome
        reasons.append(reason)
        log.warning("sandbox run %d failed: %s", len(reasons), reason)
        if len(reasons) >= policy.attempts:
            return given_up(reasons)
        await on_retry(len(reasons), reason)
        await wait_for_engine(engine_up, policy.engine_wait_s)


async def wait_for_engine(engine_up: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``engine_up`` until it is True or ``timeout_s`` passed; whether it answered."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await asyncio.to_thread(engine_up):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(ENGINE_POLL_S)
