"""Wiring and lifecycle of the portfolio service.

Two consumers. ``fills`` and ``funding-payments`` in the service's group
(``kwont-portfolio``, co-partitioned: a replica owns partition ``p`` and so every account on
it) book each fill and each funding payment into the in-memory accounts under its offset
(:mod:`kwont_portfolio.book`) and publish the account's snapshot. ``candles`` (and
``ticks`` when ``marks_from_ticks``) in a group of this process alone
(:mod:`kwont_portfolio.marks`): every replica reads all market data and revalues the
accounts it owns. Snapshots of the state and the gateway's documents are
written behind.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import TopicPartition

from kwont_common.events import Candle, PortfolioSnapshot, Tick
from kwont_common.kafka import EventConsumer, Handler
from kwont_common.kafka.admin import check_copartitioned
from kwont_common.service import Runtime, Wiring, run_service
from kwont_portfolio.book import Portfolios
from kwont_portfolio.marks import lookback_offsets, replica_group
from kwont_portfolio.settings import PortfolioSettings
from kwont_portfolio.snapshot import mark_of_candle, mark_of_tick

log = logging.getLogger(__name__)


def marks_handlers(portfolios: Portfolios, ticks: bool) -> dict[str, Handler]:
    """The marks consumer's handlers: ``candles``, and ``ticks`` too when ``ticks``."""

    async def on_candle(candle: Candle) -> list[PortfolioSnapshot]:
        return portfolios.on_mark(candle.symbol, mark_of_candle(candle))

    async def on_tick(tick: Tick) -> list[PortfolioSnapshot]:
        return portfolios.on_mark(tick.symbol, mark_of_tick(tick))

    handlers: dict[str, Handler] = {"candles": on_candle}
    if ticks:
        handlers["ticks"] = on_tick
    return handlers


async def setup(runtime: Runtime) -> Wiring:
    """Tasks of this service (its two consumers)."""
    settings = runtime.settings
    if not isinstance(settings, PortfolioSettings):  # serve() given plain Settings
        settings = PortfolioSettings.model_validate(settings.model_dump())
    mongo = await runtime.mongo()
    portfolios = Portfolios(mongo.write, settings)
    await portfolios.ensure_indexes()
    await check_copartitioned(settings, ["fills", "funding-payments"])

    begun: set[TopicPartition] = set()

    async def marks_from(partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        # the first time only: a later rebalance of the group goes on from its commits
        new = partitions - begun
        starts = await lookback_offsets(settings, new, settings.marks_lookback_s)
        begun.update(new)
        return starts

    marks = EventConsumer(
        settings,
        runtime.producer,
        marks_handlers(portfolios, settings.marks_from_ticks),
        group_id=replica_group(settings.marks_group_id),
        # marks revalue positions; no order waits for them
        fetch_max_wait_ms=settings.kafka_background_fetch_max_wait_ms,
        on_assigned=marks_from,
    )
    fills = EventConsumer(
        settings,
        runtime.producer,
        {"fills": portfolios.on_fill, "funding-payments": portfolios.on_funding},
        # risk's gate waits for fills on its own book consumer, not for portfolio's snapshots
        fetch_max_wait_ms=settings.kafka_background_fetch_max_wait_ms,
        on_assigned=portfolios.assigned,
        on_revoked=portfolios.revoked,
        on_handled=portfolios.store.mark,
    )
    runtime.health.add_check("marks consumer", lambda: marks.running)
    runtime.health.add_check("fills consumer", lambda: fills.running)
    await portfolios.start()

    async def consume_marks(stop: asyncio.Event) -> None:
        await marks.run(stop)

    async def consume_fills(stop: asyncio.Event) -> None:
        await fills.run(stop)

    return Wiring(tasks=[consume_marks, consume_fills], on_stop=[portfolios.stop])


def run() -> None:
    """Console script ``kwont-portfolio``."""
    run_service("portfolio", setup, PortfolioSettings)
