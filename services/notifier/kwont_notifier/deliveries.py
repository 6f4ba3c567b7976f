"""The delivery records (collection ``notification_deliveries``), one per subscription and
event, ``_id = "<subscription id>:<event id>"``: claimed before anything is sent, so an
event handled again (a restart, a replay) is sent at most once more and only when its first
send's outcome was never recorded. Also the per-subscription minute windows of the rate limit
(``notification_windows``) and the dead-letter records (``notification_dead_letters``).

Statuses: ``claimed`` (no decision yet) -> ``sending`` (a rate slot taken) -> ``sent`` or
``dead_letter``; or ``claimed`` -> ``digest_pending`` -> ``digesting`` -> ``digested``;
``test_queued`` (the API's test send) -> ``sending`` -> ``sent`` / ``dead_letter``.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kwont_common.mongo import Database
from kwont_notifier.channels import Outcome, now_ms
from kwont_notifier.kinds import Notice

log = logging.getLogger(__name__)
DELIVERIES = "notification_deliveries"
WINDOWS = "notification_windows"
DEAD_LETTERS = "notification_dead_letters"
SUBSCRIPTIONS = "notification_subscriptions"
FINAL = ("sent", "dead_letter", "digest_pending", "digesting", "digested")
WINDOW_MS = 60_000


def delivery_id(sub_id: str, event_id: str) -> str:
    """The deterministic id of one event's delivery to one subscription."""
    return f"{sub_id}:{event_id}"


def body_of(record: dict[str, Any]) -> dict[str, Any]:
    """The JSON a webhook receives for one delivery (docs/notifications.md, "Payload")."""
    return {
        "delivery_id": record["_id"],
        "subscription_id": record["subscription_id"],
        "event_id": record["event_id"],
        "kind": record["kind"],
        "kinds": record.get("kinds") or [record["kind"]],
        "account": record.get("account"),
        "occurred_at": record.get("event_time"),
        "text": record["text"],
        "data": record.get("data") or {},
        "test": record["kind"] == "test",
    }


class Deliveries:
    """The delivery records: claimed before a send, finished with its outcome."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.records = db[DELIVERIES]

    async def ensure_indexes(self) -> None:
        """Create the indexes the API's history and the pollers read by."""
        await self.records.create_index([("subscription_id", 1), ("created_at", -1)], name="sub")
        await self.records.create_index("status", name="status")
        await self.records.create_index("digest_id", name="digest")

    async def claim(self, sub: dict[str, Any], notice: Notice, kind: str) -> dict[str, Any] | None:
        """The record to act on: new, or one whose earlier handling stopped before its outcome
        was recorded (a crash); ``None`` when this event was already decided for ``sub``."""
        now = now_ms()
        doc = {
            "_id": delivery_id(sub["_id"], notice.event_id),
            "subscription_id": sub["_id"], "owner": sub["owner"], "event_id": notice.event_id,
            "kind": kind, "kinds": list(notice.kinds), "account": notice.account,
            "channel": sub.get("channel", "webhook"), "status": "claimed", "text": notice.text,
            "data": notice.data, "event_time": notice.event_time, "attempts": [],
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        try:
            await self.records.insert_one(doc)
            return doc
        except DuplicateKeyError:
            existing = await self.records.find_one({"_id": doc["_id"]})
        if existing is None or existing["status"] in FINAL:
            return None
        log.warning(
            "delivery %s was %s when handling stopped; handling it again",
            doc["_id"], existing["status"], extra={"delivery": doc["_id"]},
        )  # fmt: skip
        return existing

    async def take_slot(self, sub_id: str, rate: int, now: int) -> bool:
        """One message of ``sub_id``'s budget for the current minute; False when spent."""
        window = now // WINDOW_MS
        doc = await self.db[WINDOWS].find_one_and_update(
            {"_id": f"{sub_id}:{window}"},
            {"$inc": {"count": 1}, "$set": {"window": window}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int((doc or {}).get("count", 1)) <= rate

    async def forget_windows(self, now: int) -> None:
        """Drop the rate windows older than the previous minute."""
        await self.db[WINDOWS].delete_many({"window": {"$lt": now // WINDOW_MS - 1}})

    async def set_status(self, record_id: str, status: str, **fields: Any) -> None:
        """Set a record's status (and ``fields``), stamping ``updated_at``."""
        await self.records.update_one(
            {"_id": record_id}, {"$set": {"status": status, "updated_at": now_ms(), **fields}}
        )

    async def finish(self, record: dict[str, Any], outcome: Outcome) -> str:
        """Record the attempts and the outcome; a failed delivery also gets a dead-letter
        record. Returns the final status."""
        status = "sent" if outcome.ok else "dead_letter"
        await self.records.update_one(
            {"_id": record["_id"]},
            {
                "$set": {"status": status, "updated_at": now_ms(), "error": outcome.error},
                "$push": {"attempts": {"$each": outcome.attempts}},
            },
        )
        if not outcome.ok:
            log.warning(
                "delivery %s dead-lettered after %d attempts: %s",
                record["_id"], len(outcome.attempts), outcome.error,
                extra={"delivery": record["_id"]},
            )  # fmt: skip
            await self.db[DEAD_LETTERS].replace_one(
                {"_id": record["_id"]},
                {
                    "subscription_id": record["subscription_id"], "owner": record["owner"],
                    "kind": record["kind"], "error": outcome.error,
                    "attempts": len(outcome.attempts), "body": body_of(record), "at": now_ms(),
                },
                upsert=True,
            )  # fmt: skip
        return status
