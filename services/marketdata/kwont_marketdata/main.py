"""Wiring and lifecycle of the marketdata service."""

from __future__ import annotations

import logging
import sys

from kwont_common.errors import ConfigurationError
from kwont_common.service import Runtime, Wiring, run_service
from kwont_marketdata import load, schedule, symbols
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service: the symbol-metadata refresh, when scheduled.

    Raises:
        ConfigurationError: the runtime was not given marketdata settings.
    """
    settings = runtime.settings
    if not isinstance(settings, MarketdataSettings):
        raise ConfigurationError("marketdata needs MarketdataSettings")
    wiring = Wiring()
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
