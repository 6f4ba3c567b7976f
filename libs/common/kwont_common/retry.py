"""Capped retries with exponential backoff, for start-up waits and transient errors."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from kwont_common.errors import TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")


def backoff(attempt: int, cap: float, base: float = 0.1) -> float:
    """Delay before retry ``attempt`` (1-based): doubling from ``base``, at most ``cap``."""
    return float(min(cap, base * 2 ** (attempt - 1)))


async def retry_until(
    call: Callable[[], Awaitable[T]], what: str, timeout_s: float, cap_s: float = 2.0
) -> T:
    """Call until it succeeds or ``timeout_s`` has passed (waiting for a dependency).

    Raises:
        TransientError: naming ``what`` and the last error, when time ran out.
    """
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise TransientError(f"{what} not reachable after {timeout_s:.0f}s: {exc}") from exc
            delay = backoff(attempt, cap_s)
            log.warning("%s not ready (%s); retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
