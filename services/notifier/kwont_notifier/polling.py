"""What does not come on a topic, polled from MongoDB: the API's test sends (queued as
``test_queued`` delivery records) and deployments' errors (``deployments.last_error``, which
the strategy service writes; the read position is kept in ``notifier_cursors``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from pymongo import ReturnDocument

from kwont_notifier.channels import Outcome, now_ms
from kwont_notifier.dispatch import Dispatcher
from kwont_notifier.kinds import of_deployment_error

log = logging.getLogger(__name__)
CURSORS = "notifier_cursors"
ERRORS_CURSOR = "deployment_errors"


def deployment_error_id(dep_id: str, at: int) -> str:
    """The event id of one deployment error: the same for every replica and rescan."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kwont:deployment-error:{dep_id}:{at}"))


class Poller:
    """Periodic work next to the event stream: queued test sends and due digests."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.db = dispatcher.deliveries.db

    async def test_sends(self) -> int:
        """Send every queued test delivery (each taken by one replica); how many."""
        records = self.dispatcher.deliveries.records
        sent = 0
        while True:
            record = await records.find_one_and_update(
                {"status": "test_queued"},
                {"$set": {"status": "sending", "updated_at": now_ms()}},
                return_document=ReturnDocument.AFTER,
            )
            if record is None:
                return sent
            sub = await self.dispatcher.subscriptions.get(record["subscription_id"])
            if sub is None:
                await self.dispatcher.deliveries.finish(record, Outcome(error="no subscription"))
            else:
                await self.dispatcher.send(sub, record)
            sent += 1

    async def deployment_errors(self) -> int:
        """Notify the deployment errors written since the last look; how many."""
        cursors = self.db[CURSORS]
        state = await cursors.find_one({"_id": ERRORS_CURSOR})
        if state is None:  # first start: from now on, not the history
            await cursors.insert_one({"_id": ERRORS_CURSOR, "at": now_ms()})
            return 0
        since = int(state["at"])
        found = self.db.deployments.find(
            {"last_error_at": {"$gt": since}},
            {"account": 1, "strategy": 1, "last_error": 1, "last_error_at": 1},
        )
        docs = sorted([d async for d in found], key=lambda d: int(d["last_error_at"]))
        for dep in docs:
            at = int(dep["last_error_at"])
            notice = of_deployment_error(
                deployment_error_id(str(dep["_id"]), at), dep, str(dep.get("last_error")), at
            )
            await self.dispatcher.notify(notice)
            await cursors.update_one({"_id": ERRORS_CURSOR}, {"$set": {"at": at}})
        return len(docs)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``poll_interval_s`` until ``stop``."""
        interval = self.dispatcher.settings.poll_interval_s
        while not stop.is_set():
            try:
                await self.test_sends()
                await self.deployment_errors()
            except Exception:  # Mongo away: the next round tries again
                log.exception("polling failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
