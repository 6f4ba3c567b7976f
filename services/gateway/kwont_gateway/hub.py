"""In-process fan-out of pushed events to WebSocket and GraphQL subscribers.

Every replica consumes the pushed topics in its own consumer group (``push_feed``), so each
replica sees every event and can serve any client. Subscribers register a queue under a
``(channel, key)`` topic such as ``("backtest", job_id)`` or ``("candles", "BTCUSDT:1m")``.
A slow subscriber never blocks the feed: when its queue is full the oldest item is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Push:
    """One event for subscribers of ``(channel, key)``; ``data`` is the event's JSON."""

    channel: str
    key: str
    data: dict[str, Any]


class Hub:
    """Topic -> subscriber queues, within one replica."""

    def __init__(self) -> None:
        self._subs: defaultdict[tuple[str, str], set[asyncio.Queue[Any]]] = defaultdict(set)

    def add(self, channel: str, key: str, queue: asyncio.Queue[Any]) -> None:
        """Deliver (channel, key) pushes to queue from now on."""
        self._subs[(channel, key)].add(queue)

    def remove(self, channel: str, key: str, queue: asyncio.Queue[Any]) -> None:
        """Stop delivering (channel, key) pushes to queue; forgets the key when it has no subscriber
        left."""
        subs = self._subs.get((channel, key))
        if subs is not None:
            subs.discard(queue)
            if not subs:
                del self._subs[(channel, key)]

    def publish(self, push: Push) -> int:
        """Offer ``push`` to its subscribers; returns how many got it."""
        subs = self._subs.get((push.channel, push.key), ())
        for queue in subs:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(push)
        return len(subs)

    def subscribers(self, channel: str, key: str) -> int:
        """How many queues receive (channel, key) pushes."""
        return len(self._subs.get((channel, key), ()))

    @contextlib.asynccontextmanager
    async def subscription(self, channel: str, key: str) -> AsyncIterator[asyncio.Queue[Push]]:
        """A queue receiving ``(channel, key)`` pushes while the block runs."""
        queue: asyncio.Queue[Push] = asyncio.Queue(QUEUE_SIZE)
        self.add(channel, key, queue)
        try:
            yield queue
        finally:
            self.remove(channel, key, queue)
