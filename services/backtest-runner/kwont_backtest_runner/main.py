"""Wiring and lifecycle of the backtest-runner service."""

from __future__ import annotations

import logging

from kwont_backtest_runner.settings import BacktestRunnerSettings
from kwont_common.events import BacktestJob
from kwont_common.service import Runtime, Wiring, run_service

log = logging.getLogger(__name__)


async def on_backtest_job(backtest_job: BacktestJob) -> None:
    """Accept a BacktestJob. This service's logic arrives with its issue; until then the message
    is decoded, validated, counted and committed."""
    log.debug("received", extra={"event_id": backtest_job.event_id})


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    return Wiring(
        handlers={
            "backtest-jobs": on_backtest_job,
        },
    )


def run() -> None:
    """Console script ``kwont-backtest-runner``."""
    run_service("backtest-runner", setup, BacktestRunnerSettings)
