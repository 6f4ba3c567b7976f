"""Wiring and lifecycle of the risk service."""

from __future__ import annotations

import logging

from kwont_common.events import Fill, PortfolioSnapshot, Signal
from kwont_common.service import Runtime, Wiring, run_service
from kwont_risk.settings import RiskSettings

log = logging.getLogger(__name__)


async def on_signal(signal: Signal) -> None:
    """Accept a Signal. This service's logic arrives with its issue; until then the message
    is decoded, validated, counted and committed."""
    log.debug("received", extra={"event_id": signal.event_id})


async def on_fill(fill: Fill) -> None:
    """Accept a Fill. This service's logic arrives with its issue; until then the message
    is decoded, validated, counted and committed."""
    log.debug("received", extra={"event_id": fill.event_id})


async def on_portfolio_snapshot(portfolio_snapshot: PortfolioSnapshot) -> None:
    """Accept a PortfolioSnapshot. This service's logic arrives with its issue; until then
    the message is decoded, validated, counted and committed."""
    log.debug("received", extra={"event_id": portfolio_snapshot.event_id})


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    return Wiring(
        handlers={
            "signals": on_signal,
            "fills": on_fill,
            "portfolio-snapshots": on_portfolio_snapshot,
        },
    )


def run() -> None:
    """Console script ``kwont-risk``."""
    run_service("risk", setup, RiskSettings)
