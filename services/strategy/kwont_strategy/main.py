"""Wiring and lifecycle of the strategy service."""

from __future__ import annotations

import logging

from kwont_common.events import Candle
from kwont_common.service import Runtime, Wiring, run_service
from kwont_strategy.settings import StrategySettings

log = logging.getLogger(__name__)


async def on_candle(candle: Candle) -> None:
    """Accept a Candle. This service's logic arrives with its issue; until then the message
    is decoded, validated, counted and committed."""
    log.debug("received", extra={"event_id": candle.event_id})


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    return Wiring(
        handlers={
            "candles": on_candle,
        },
    )


def run() -> None:
    """Console script ``kwont-strategy``."""
    run_service("strategy", setup, StrategySettings)
