"""Notification subscriptions (collection ``notification_subscriptions``) and their delivery
history (``notification_deliveries``, written by the notifier). Every read and write is
filtered by owner; a subscription's account or deployment must be the caller's."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from kwont_gateway.errors import not_found, owned
from kwont_gateway.models.notifications import SubscriptionCreate
from kwont_gateway.principal import Principal
from kwont_gateway.security import new_id
from kwont_gateway.state import Gateway
from kwont_gateway.users import now

SUBSCRIPTIONS = "notification_subscriptions"
DELIVERIES = "notification_deliveries"


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The public fields of a stored subscription (everything but owner and secret)."""
    return {
        "id": doc["_id"], "name": doc.get("name"), "kinds": doc["kinds"],
        "channel": doc["channel"], "account": doc.get("account"),
        "deployment_id": doc.get("deployment_id"), "url": doc.get("url"),
        "chat_id": doc.get("chat_id"), "rate_per_minute": doc.get("rate_per_minute"),
        "enabled": doc.get("enabled", True), "created_at": doc["created_at"],
    }  # fmt: skip


def delivery_public(doc: dict[str, Any]) -> dict[str, Any]:
    """The public fields of a stored delivery record."""
    return {
        "id": doc["_id"], "subscription_id": doc["subscription_id"],
        "event_id": doc.get("event_id"), "kind": doc["kind"], "status": doc["status"],
        "text": doc.get("text", ""), "digest_id": doc.get("digest_id"),
        "error": doc.get("error"), "attempts": doc.get("attempts") or [],
        "created_at": doc["created_at"], "updated_at": doc.get("updated_at", doc["created_at"]),
    }  # fmt: skip


async def owns_account(gw: Gateway, principal: Principal, account: str) -> bool:
    """Whether ``account`` is the principal's: one of their deployments or portfolios uses it."""
    mine = {"account": account, "owner": principal.user_id}
    if await gw.read.deployments.find_one(mine, {"_id": 1}):
        return True
    return bool(await gw.read.portfolios.find_one({"_id": account, "owner": principal.user_id}))


async def create(gw: Gateway, principal: Principal, body: SubscriptionCreate) -> dict[str, Any]:
    """Store an enabled subscription; the answer holds its webhook secret, once.

    Raises:
        ApiError: 404 when the account or deployment is not the caller's.
    """
    account = body.account
    if body.deployment_id is not None:
        dep = await owned(gw.read.deployments, "deployment", body.deployment_id, principal.user_id)
        account = dep["account"]
    elif account is not None and not await owns_account(gw, principal, account):
        raise not_found("account", account)
    doc: dict[str, Any] = {
        "_id": new_id("nsub"), "owner": principal.user_id, "name": body.name,
        "kinds": list(dict.fromkeys(body.kinds)), "channel": body.channel, "account": account,
        "deployment_id": body.deployment_id, "rate_per_minute": body.rate_per_minute,
        "enabled": True, "created_at": now(),
    }  # fmt: skip
    if body.channel == "webhook":
        doc.update(url=str(body.url), secret=f"whsec_{secrets.token_urlsafe(32)}")
    else:
        doc["chat_id"] = body.chat_id
    await gw.write[SUBSCRIPTIONS].insert_one(doc)
    return doc


async def find(gw: Gateway, principal: Principal) -> list[dict[str, Any]]:
    """The principal's subscriptions, newest first (at most 500)."""
    cursor = gw.read[SUBSCRIPTIONS].find({"owner": principal.user_id}).sort("created_at", -1)
    return [d async for d in cursor.limit(500)]


async def get(gw: Gateway, principal: Principal, sub_id: str) -> dict[str, Any]:
    """One of the principal's subscriptions; 404 when it is not theirs."""
    return await owned(gw.read[SUBSCRIPTIONS], "subscription", sub_id, principal.user_id)


async def delete(gw: Gateway, principal: Principal, sub_id: str) -> None:
    """Delete it: nothing more is sent to it (its delivery records stay in the database).

    Raises:
        ApiError: 404 when it is not the caller's.
    """
    done = await gw.write[SUBSCRIPTIONS].delete_one({"_id": sub_id, "owner": principal.user_id})
    if done.deleted_count == 0:
        raise not_found("subscription", sub_id)


async def test_send(gw: Gateway, principal: Principal, sub_id: str) -> dict[str, Any]:
    """Queue a test message; the notifier sends it within a second or so (its
    ``poll_interval_s``), outside the rate limit. Read its outcome in the history.

    Raises:
        ApiError: 404 when the subscription is not the caller's.
    """
    sub = await get(gw, principal, sub_id)
    stamp, ms = uuid.uuid4().hex, time.time_ns() // 1_000_000
    doc = {
        "_id": f"{sub_id}:test-{stamp}", "subscription_id": sub_id, "owner": sub["owner"],
        "event_id": f"test-{stamp}", "kind": "test", "kinds": ["test"],
        "account": sub.get("account"), "channel": sub["channel"], "status": "test_queued",
        "text": f"Kwont test notification for subscription {sub_id}",
        "data": {}, "event_time": ms, "attempts": [], "created_at": ms, "updated_at": ms,
    }  # fmt: skip
    await gw.write[DELIVERIES].insert_one(doc)
    return doc


async def deliveries(
    gw: Gateway, principal: Principal, sub_id: str, limit: int
) -> list[dict[str, Any]]:
    """The subscription's newest deliveries, digests and test sends, with their attempts."""
    await get(gw, principal, sub_id)
    q = {"subscription_id": sub_id, "owner": principal.user_id}
    cursor = gw.read[DELIVERIES].find(q, {"data": 0}).sort("created_at", -1).limit(limit)
    return [d async for d in cursor]
