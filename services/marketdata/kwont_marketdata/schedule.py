"""Periodic jobs as service tasks (``kwont_common.service.Task``).

A failing run is logged as a warning and retried at the next interval: a vendor being down
must never stop the service. Stopping cancels a run in progress, so the task returns soon
after the stop event is set even while a request hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kwont_common.service import Task

log = logging.getLogger(__name__)


def every(interval_s: float, job: Callable[[], Awaitable[Any]], name: str) -> Task:
    """A task running ``job`` at once, then every ``interval_s`` seconds until stopped."""

    async def periodic(stop: asyncio.Event) -> None:
        while not stop.is_set():
            run = asyncio.ensure_future(job())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait([run, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
                return
            # Any failure (vendor down, bad answer, database hiccup) waits for the next run.
            failure = run.exception()
            if failure is not None:
                log.warning("%s failed, retrying in %gs: %s: %s",
                            name, interval_s, type(failure).__name__, failure)  # fmt: skip
            else:
                log.info("%s: %s", name, run.result())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    periodic.__name__ = name
    return periodic
