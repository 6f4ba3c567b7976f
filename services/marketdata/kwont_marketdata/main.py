"""Wiring and lifecycle of the marketdata service."""

from __future__ import annotations

import logging
import sys

from kwont_common.service import Runtime, Wiring, run_service
from kwont_marketdata import load
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    return Wiring()


def run() -> None:
    """Console script ``kwont-marketdata``: the service, or a data command (see load.py)."""
    argv = sys.argv[1:]
    if argv and argv[0] not in ("serve",):
        raise SystemExit(load.main(argv))
    run_service("marketdata", setup, MarketdataSettings)
