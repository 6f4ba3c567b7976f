"""Wiring and lifecycle of the execution service."""

from __future__ import annotations

import logging

from kwont_common.events import Order
from kwont_common.service import Runtime, Wiring, run_service
from kwont_execution.settings import ExecutionSettings

log = logging.getLogger(__name__)


async def on_order(order: Order) -> None:
    """Accept a Order. This service's logic arrives with its issue; until then the message
    is decoded, validated, counted and committed."""
    log.debug("received", extra={"event_id": order.event_id})


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    return Wiring(
        handlers={
            "orders": on_order,
        },
    )


def run() -> None:
    """Console script ``kwont-execution``."""
    run_service("execution", setup, ExecutionSettings)
