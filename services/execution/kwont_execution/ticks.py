"""The latest trade price per symbol, for the paper venue's market fills.

Every replica needs the ticks of every symbol (orders are spread by account, ticks by
symbol), so this reader is not in a consumer group: it starts at the end of ``ticks`` and
keeps, per symbol, the newest ``(event_time, price)`` in memory. Nothing is committed, so
there is nothing to dead-letter either: a malformed tick is counted and skipped (the
marketdata service is its only producer). After a restart the paper venue fills at the
order's reference price until new ticks arrive.
"""

from __future__ import annotations

import asyncio
import json
import logging

from kwont_common.kafka.raw_consumer import follow
from kwont_common.settings import Settings
from kwont_common.topics import topic

log = logging.getLogger(__name__)


def read_tick(value: bytes | None) -> tuple[str, int, float] | None:
    """``(symbol, event_time, price)`` of a tick message, or None when it is not one.
    Only the three fields are read (a full model parse per tick costs too much CPU at
    tens of thousands of ticks per second)."""
    try:
        doc = json.loads(value or b"")
        symbol, at, price = doc["symbol"], doc["event_time"], doc["price"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(symbol, str) or not isinstance(at, int) or isinstance(at, bool):
        return None
    if not isinstance(price, int | float) or isinstance(price, bool) or not price > 0:
        return None
    return symbol, at, float(price)


class LastTicks:
    """Latest tick per symbol; :meth:`run` is the service task that follows ``ticks``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._last: dict[str, tuple[int, float]] = {}
        self.running = False

    def get(self, symbol: str) -> tuple[int, float] | None:
        """The latest ``(event_time, price)`` of ``symbol``, or None."""
        return self._last.get(symbol)

    def see(self, symbol: str, at: int, price: float) -> None:
        """Keep the tick unless the one held for ``symbol`` is newer."""
        old = self._last.get(symbol)
        if old is None or at >= old[0]:
            self._last[symbol] = (at, price)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow ``ticks`` from its end until ``stop`` is set."""
        name = topic("ticks").full_name(self.settings.topic_prefix)
        self.running = True
        try:
            await follow(
                self.settings, "kafka ticks reader", name, read_tick, lambda t: self.see(*t), stop,
                max_records=5000, auto_offset_reset="latest",
                fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            )  # fmt: skip
        finally:
            self.running = False
