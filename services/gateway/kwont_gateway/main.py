"""Wiring and lifecycle of the gateway service."""

from __future__ import annotations

import logging

from kwont_common.events import BacktestProgress, BacktestResult, Candle, Fill
from kwont_common.service import Runtime, Wiring, run_service
from kwont_gateway.app import create_app
from kwont_gateway.http import http_task
from kwont_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

PUSHED_TOPICS = ("backtest-progress", "backtest-results", "fills", "candles")


async def on_push(event: BacktestProgress | BacktestResult | Fill | Candle) -> None:
    """Accept an event to push to subscribers. WebSocket/GraphQL fan-out arrives with the
    gateway issue; until then the message is decoded, validated, counted and committed."""
    log.debug("received", extra={"event_id": event.event_id})


async def setup(runtime: Runtime) -> Wiring:
    """The HTTP server plus the push consumers."""
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    app = create_app(runtime)
    return Wiring(
        handlers={
            t: on_push for t in ("backtest-progress", "backtest-results", "fills", "candles")
        },
        tasks=[http_task(app, settings.http_host, settings.http_port)],
    )


def run() -> None:
    """Console script ``kwont-gateway``."""
    run_service("gateway", setup, GatewaySettings)
