"""Wiring and lifecycle of the marketdata service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from pymongo.errors import PyMongoError

from kwont_common.errors import ConfigurationError
from kwont_common.mongo import Database
from kwont_common.retry import backoff
from kwont_common.service import Runtime, Task, Wiring, run_service
from kwont_marketdata import (
    binance_stream,
    funding_store,
    load,
    replay,
    schedule,
    store,
    symbols,
    synthetic_feed,
    tick_candles,
)
from kwont_marketdata.outlet import Outlet
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)


def feed_task(settings: MarketdataSettings, outlet: Outlet) -> Task | None:
    """The task of the configured live feed (``KWONT_FEED``), or None for ``none``.

    Raises:
        ConfigurationError: a replay feed without a range, or no symbols.
    """
    if settings.feed == "none":
        return None
    if not settings.symbols and not (settings.feed == "replay" and settings.feed_replay_csv):
        raise ConfigurationError("KWONT_FEED_SYMBOLS is empty")
    if settings.feed == "synthetic":

        async def synthetic(stop: asyncio.Event) -> None:
            await synthetic_feed.run(settings, outlet, stop)

        return synthetic
    if settings.feed == "binance":

        async def binance(stop: asyncio.Event) -> None:
            await binance_stream.run(settings, outlet, stop)

        return binance
    try:
        start = replay.parse_time(settings.feed_replay_start) if settings.feed_replay_start else 0
        end = replay.parse_time(settings.feed_replay_end) if settings.feed_replay_end else None
    except ValueError as exc:
        raise ConfigurationError(f"KWONT_FEED_REPLAY_START/END: {exc}") from exc

    async def replay_once(stop: asyncio.Event) -> None:
        csv = Path(settings.feed_replay_csv) if settings.feed_replay_csv else None
        # One name per configured replay: a restarted service resumes where it stopped.
        what = f"{settings.feed_replay_csv or ','.join(settings.symbols)}:{settings.feed_interval}"
        progress = f"{settings.topic_prefix}{what}:{start}:{end}"
        attempt = 0
        while not stop.is_set():
            try:
                n = await replay.replay(settings, outlet.producer, outlet.db, settings.symbols,
                                        settings.feed_interval, start, end or replay.FOREVER,
                                        settings.feed_replay_speed, csv, stop,
                                        progress=progress)  # fmt: skip
            except PyMongoError as exc:
                # The database went away mid-replay: wait for it, then resume from the
                # recorded progress (the last candle again, under the same event id).
                attempt += 1
                delay = backoff(attempt, settings.retry_backoff_max_s)
                log.warning("replay: database unavailable (%s); resuming in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            log.info("replay finished: %d candles published", n)
            break
        await stop.wait()  # the service stays up (metrics, other tasks) until stopped

    return replay_once


async def setup(runtime: Runtime) -> Wiring:
    """Tasks of this service: the live feed, the ticks-to-candles aggregator and the
    symbol-metadata refresh, each when configured.

    Raises:
        ConfigurationError: the runtime was not given marketdata settings, or a feed setting
            is wrong.
    """
    settings = runtime.settings
    if not isinstance(settings, MarketdataSettings):
        raise ConfigurationError("marketdata needs MarketdataSettings")
    wiring = Wiring()
    mongo = await runtime.mongo() if settings.feed != "none" or settings.tick_intervals else None
    market: Database | None = mongo.market_write if mongo is not None else None
    if market is not None:
        await store.ensure_indexes(market)
        await funding_store.ensure_indexes(market)
        outlet = Outlet(runtime.producer, market)
        feed = feed_task(settings, outlet)
        if feed is not None:
            wiring.tasks.append(feed)
        if settings.tick_intervals:
            aggregator = tick_candles.TickCandles(settings, runtime.producer, market)
            runtime.health.add_check("tick_candles", lambda: aggregator.running)
            wiring.tasks.append(aggregator.run)
    if settings.symbols_refresh_s > 0:
        db = (await runtime.mongo()).write

        async def refresh_symbols() -> symbols.Refreshed:
            await symbols.ensure_indexes(db)
            return await symbols.refresh(settings, db)

        wiring.tasks.append(
            schedule.every(settings.symbols_refresh_s, refresh_symbols, "refresh_symbols")
        )
    else:
        log.info("symbol refresh disabled (KWONT_SYMBOLS_REFRESH_S=0)")
    return wiring


def run() -> None:
    """Console script ``kwont-marketdata``: the service, or a data command (see load.py)."""
    argv = sys.argv[1:]
    if argv and argv[0] not in ("serve",):
        raise SystemExit(load.main(argv))
    run_service("marketdata", setup, MarketdataSettings)
