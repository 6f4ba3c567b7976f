"""Wiring and lifecycle of the portfolio service.

Two consumers: ``fills`` in the service's group (``kwont-portfolio``) books each fill once
and publishes the account's snapshot; ``candles`` (and ``ticks`` when
``marks_from_ticks``) in a second group (``kwont-portfolio-marks``) revalue the accounts
holding the symbol. Both write the same per-account documents through compare-and-set, so
either may run in any number of replicas.
"""

from __future__ import annotations

import asyncio
import logging

from kwont_common.events import Candle, Fill, PortfolioSnapshot, Tick
from kwont_common.kafka import EventConsumer, Handler
from kwont_common.service import Runtime, Wiring, run_service
from kwont_portfolio.book import Portfolios
from kwont_portfolio.settings import PortfolioSettings
from kwont_portfolio.snapshot import mark_of_candle, mark_of_tick

log = logging.getLogger(__name__)


def marks_handlers(portfolios: Portfolios, ticks: bool) -> dict[str, Handler]:
    async def on_candle(candle: Candle) -> list[PortfolioSnapshot]:
        return await portfolios.on_mark(candle.symbol, mark_of_candle(candle))

    async def on_tick(tick: Tick) -> list[PortfolioSnapshot]:
        return await portfolios.on_mark(tick.symbol, mark_of_tick(tick))

    handlers: dict[str, Handler] = {"candles": on_candle}
    if ticks:
        handlers["ticks"] = on_tick
    return handlers


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    settings = runtime.settings
    if not isinstance(settings, PortfolioSettings):  # serve() given plain Settings
        settings = PortfolioSettings.model_validate(settings.model_dump())
    mongo = await runtime.mongo()
    portfolios = Portfolios(mongo.write, settings)
    await portfolios.ensure_indexes()
    marks = EventConsumer(
        settings,
        runtime.producer,
        marks_handlers(portfolios, settings.marks_from_ticks),
        group_id=settings.marks_group_id,
        # marks revalue positions; no order waits for them
        fetch_max_wait_ms=settings.kafka_background_fetch_max_wait_ms,
    )
    runtime.health.add_check("marks consumer", lambda: marks.running)

    async def on_fill(fill: Fill) -> list[PortfolioSnapshot]:
        return await portfolios.on_fill(fill)

    async def consume_marks(stop: asyncio.Event) -> None:
        await marks.run(stop)

    # risk's gate waits for fills on its own book consumer, not for portfolio's snapshots
    return Wiring(handlers={"fills": on_fill}, tasks=[consume_marks], background_fetch=True)


def run() -> None:
    """Console script ``kwont-portfolio``."""
    run_service("portfolio", setup, PortfolioSettings)
