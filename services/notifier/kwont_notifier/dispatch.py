"""From a notice to its deliveries: for each matching subscription claim the record, take
a rate slot or hold the event for the digest, send, record the outcome."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kwont_notifier.channels import Channels, now_ms
from kwont_notifier.deliveries import Deliveries, body_of
from kwont_notifier.kinds import Notice
from kwont_notifier.settings import NotifierSettings
from kwont_notifier.subscriptions import Subscriptions

log = logging.getLogger(__name__)


def kind_for(sub: dict[str, Any], notice: Notice) -> str:
    """The notice's first kind that the subscription lists (a stop-loss fill is told as a
    ``stop_loss`` to whoever asked for those, as a ``fill`` to whoever asked for fills)."""
    wanted = set(sub.get("kinds") or ())
    return next((k for k in notice.kinds if k in wanted), notice.kinds[0])


class Dispatcher:
    """Turns an event into deliveries: matching subscriptions, rate limit, claim, send."""

    def __init__(
        self,
        settings: NotifierSettings,
        deliveries: Deliveries,
        subscriptions: Subscriptions,
        channels: Channels,
    ) -> None:
        self.settings = settings
        self.deliveries = deliveries
        self.subscriptions = subscriptions
        self.channels = channels

    async def notify(self, notice: Notice) -> None:
        """Deliver ``notice`` to every subscription it concerns, concurrently (one
        receiver being retried holds up no other)."""
        subs = await self.subscriptions.matching(notice)
        await asyncio.gather(*(self.deliver(sub, notice) for sub in subs))

    async def deliver(self, sub: dict[str, Any], notice: Notice) -> str | None:
        """One subscription's delivery of ``notice``; its status, or None when decided
        before."""
        record = await self.deliveries.claim(sub, notice, kind_for(sub, notice))
        if record is None:
            return None
        if record["status"] == "claimed":
            rate = int(sub.get("rate_per_minute") or self.settings.notify_rate_per_minute)
            if not await self.deliveries.take_slot(sub["_id"], rate, now_ms()):
                await self.deliveries.set_status(record["_id"], "digest_pending")
                return "digest_pending"
            await self.deliveries.set_status(record["_id"], "sending")
        return await self.send(sub, record)

    async def send(self, sub: dict[str, Any], record: dict[str, Any]) -> str:
        """Send one claimed delivery record to its subscription and record the outcome."""
        outcome = await self.channels.send(sub, body_of(record), record["_id"])
        return await self.deliveries.finish(record, outcome)
