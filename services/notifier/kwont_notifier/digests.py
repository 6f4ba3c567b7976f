"""The digest: every ``digest_interval_s``, each subscription's events held back by its
rate limit go out in one message that lists every one of them (a webhook digest carries
each item's full body; a Telegram digest counts them and quotes the first few).

A digest claims its items first (``digest_pending`` -> ``digesting`` with its id), then
sends, then marks them; a digest interrupted by a crash is sent again, with the same id,
before any new one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from kwont_notifier.channels import Outcome, now_ms
from kwont_notifier.deliveries import body_of
from kwont_notifier.dispatch import Dispatcher
from kwont_notifier.kinds import digest_text

log = logging.getLogger(__name__)


class Digests:
    """Digests: the notices a rate limit held back, sent later as one message."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.records = dispatcher.deliveries.records

    async def flush(self) -> int:
        """Send every pending digest; how many were sent."""
        sent = 0
        unfinished = {d["digest_id"] async for d in self.records.find(
            {"status": "digesting"}, {"digest_id": 1}
        )}  # fmt: skip
        for digest_id in sorted(unfinished):
            sent += await self.send(digest_id)
        subs = {d["subscription_id"] async for d in self.records.find(
            {"status": "digest_pending"}, {"subscription_id": 1}
        )}  # fmt: skip
        for sub_id in sorted(subs):
            digest_id = f"{sub_id}:digest-{uuid.uuid4().hex}"
            await self.records.update_many(
                {"subscription_id": sub_id, "status": "digest_pending"},
                {"$set": {"status": "digesting", "digest_id": digest_id}},
            )
            sent += await self.send(digest_id)
        await self.dispatcher.deliveries.forget_windows(now_ms())
        return sent

    async def send(self, digest_id: str) -> int:
        """Send one digest of everything held under ``digest_id``; how many notices it carried."""
        items = [
            d async for d in self.records.find({"digest_id": digest_id, "kind": {"$ne": "digest"}})
        ]
        if not items:
            return 0
        items.sort(key=lambda d: (d.get("event_time") or 0, d["_id"]))
        sub_id = items[0]["subscription_id"]
        sub = await self.dispatcher.subscriptions.get(sub_id)
        bodies = [body_of(d) for d in items]
        text = digest_text(bodies)
        body: dict[str, Any] = {
            "delivery_id": digest_id, "subscription_id": sub_id, "kind": "digest",
            "count": len(items), "text": text, "items": bodies, "test": False,
        }  # fmt: skip
        if sub is None:  # deleted meanwhile: nothing to send to
            outcome = Outcome(error="the subscription was deleted")
        else:
            outcome = await self.dispatcher.channels.send(sub, body, digest_id)
        now = now_ms()
        record = {
            "_id": digest_id, "subscription_id": sub_id, "owner": items[0]["owner"],
            "event_id": None, "kind": "digest", "channel": items[0].get("channel"),
            "text": text, "data": {"event_ids": [b["event_id"] for b in bodies]},
            "event_time": now, "created_at": now, "updated_at": now, "attempts": [],
            "status": "sending",
        }  # fmt: skip
        await self.records.replace_one({"_id": digest_id}, record, upsert=True)
        status = await self.dispatcher.deliveries.finish(record, outcome)
        await self.records.update_many(
            {"digest_id": digest_id, "kind": {"$ne": "digest"}},
            {"$set": {"status": "digested" if status == "sent" else "dead_letter"}},
        )
        return 1

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every ``digest_interval_s`` until ``stop``; once more at the end."""
        interval = self.dispatcher.settings.digest_interval_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            try:
                await self.flush()
            except Exception:  # Mongo away: the next round tries again
                log.exception("digest flush failed")
