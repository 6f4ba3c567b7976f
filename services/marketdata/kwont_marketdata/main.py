"""Wiring and lifecycle of the marketdata service."""

from __future__ import annotations

import logging

from kwont_common.service import Runtime, Wiring, run_service
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    return Wiring()


def run() -> None:
    """Console script ``kwont-marketdata``."""
    run_service("marketdata", setup, MarketdataSettings)
