"""Wiring and lifecycle of the strategy service.

Consumes ``candles`` in its consumer group (replicas split the ``SYMBOL:interval`` keys by
partition) and publishes ``signals``. Collections: reads ``deployments`` (and
``strategies`` for uploaded code) and the ``ohlcv`` candles; writes ``signals`` and
``last_error`` on deployments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path

from kwont_common.service import Runtime, Wiring, run_service
from kwont_strategy import signals
from kwont_strategy.deployments import Registry
from kwont_strategy.engine import SignalEngine
from kwont_strategy.settings import StrategySettings
from kwont_strategy.windows import Windows

log = logging.getLogger(__name__)


async def wire(runtime: Runtime) -> tuple[Wiring, SignalEngine]:
    """The service's wiring and its engine (tests look inside the engine)."""
    settings = runtime.settings
    assert isinstance(settings, StrategySettings)
    mongo = await runtime.mongo()
    await signals.ensure_indexes(mongo.write)
    code_dir = Path(tempfile.mkdtemp(prefix="kwont-strategy-"))
    registry = Registry(mongo.write, code_dir, settings.window_max_candles)
    await registry.refresh()  # deployments known before the first candle
    # Primary reads: a candle marketdata just stored must be there when a gap is reloaded.
    progress = signals.Progress(mongo.write, settings.progress_flush_s)
    engine = SignalEngine(
        registry, Windows(mongo.market_write), mongo.write, settings.service_name, progress
    )

    async def refresh_deployments(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.deployments_refresh_s)
            if stop.is_set():
                return
            try:
                await registry.refresh()
            except Exception as exc:  # keep serving from the last good cache
                log.warning("deployments refresh failed, keeping the cache: %s", exc)

    async def cleanup() -> None:
        shutil.rmtree(code_dir, ignore_errors=True)

    wiring = Wiring(
        handlers={"candles": engine.on_candle},
        tasks=[refresh_deployments, progress.run],
        on_stop=[progress.flush, cleanup],  # the consumer has finished: its last marks
        fast_fetch=True,  # the first hop of candle -> fill
    )
    return wiring, engine


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    wiring, _ = await wire(runtime)
    return wiring


def run() -> None:
    """Console script ``kwont-strategy``."""
    run_service("strategy", setup, StrategySettings)
