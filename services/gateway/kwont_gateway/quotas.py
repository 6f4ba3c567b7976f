"""Job quotas: how many jobs a user may have queued (collection ``quotas``).

A job is one backtest or one optimization (a grid with its shards and walk-forward counts
once); a result answered from the cache needs no runner and is never counted. A user's
limit is the first of: their own override (``user:<id>``), their role's override
(``role:<role>``), the ``quota_max_queued`` setting. Past it a submission gets 429 with
``Retry-After``; the count is read before the insert, so two submissions racing at the
limit may both pass (a soft limit, off by at most the requests in flight).
"""

from __future__ import annotations

from typing import Any

from kwont_gateway import audit
from kwont_gateway.errors import ApiError, invalid, not_found
from kwont_gateway.principal import ROLES, Principal
from kwont_gateway.state import Gateway
from kwont_gateway.users import now

COLLECTION = "quotas"
API = "/api/v1"


def key(scope: str, target: str) -> str:
    """The ``_id`` of an override: ``user:<user id>`` or ``role:<role>``."""
    return f"{scope}:{target}"


def effective(default: int, role_doc: dict[str, Any] | None, user_doc: dict[str, Any] | None
              ) -> tuple[int, str]:  # fmt: skip
    """The limit that applies and where it comes from (``user``, ``role`` or ``default``)."""
    for source, doc in (("user", user_doc), ("role", role_doc)):
        if doc is not None and doc.get("max_queued") is not None:
            return int(doc["max_queued"]), source
    return default, "default"


async def limit_of(gw: Gateway, user_id: str, role: str) -> tuple[int, str]:
    """The user's queued-jobs limit and its source (two reads of ``quotas``)."""
    docs = {d["_id"]: d async for d in gw.read[COLLECTION].find(
        {"_id": {"$in": [key("user", user_id), key("role", role)]}})}  # fmt: skip
    return effective(
        gw.settings.quota_max_queued, docs.get(key("role", role)), docs.get(key("user", user_id))
    )


async def queued(gw: Gateway, user_id: str) -> int:
    """Jobs of the user not started yet: queued backtests plus optimizations with a queued
    shard (read from the primary: a submission just made must count)."""
    backtests = await gw.write.backtests.count_documents(
        {"owner": user_id, "status": "queued", "kind": {"$ne": "optimization_shard"}}
    )
    grids = await gw.write.backtests.distinct(
        "job.optimization_id",
        {"owner": user_id, "status": "queued", "kind": "optimization_shard"},
    )
    return backtests + len(grids)


async def usage(gw: Gateway, principal: Principal) -> dict[str, Any]:
    """The caller's limit, its source, and how many of their jobs are queued now."""
    limit, source = await limit_of(gw, principal.user_id, principal.role)
    return {"max_queued": limit, "source": source, "queued": await queued(gw, principal.user_id)}


async def admit(gw: Gateway, principal: Principal) -> None:
    """Let one more job of the caller in, or refuse it.

    Raises:
        ApiError: 429 with ``Retry-After`` when the caller already has their limit queued.
    """
    limit, source = await limit_of(gw, principal.user_id, principal.role)
    count = await queued(gw, principal.user_id)
    if count < limit:
        return
    wait = gw.settings.quota_retry_after_s
    raise ApiError(
        429, "quota_exceeded",
        f"you have {count} jobs queued and your quota allows {limit} (max_queued, from the "
        f"{source} quota); submit again once some have started (retry in {wait}s), cancel "
        f"some, or ask an admin for a larger quota. Your queue: GET {API}/backtests?status="
        f"queued and GET {API}/optimizations; your quota: GET {API}/quotas/me",
        headers={"Retry-After": str(wait)},
    )  # fmt: skip


async def overrides(gw: Gateway) -> dict[str, Any]:
    """The default and every override, for admins."""
    items = [_public(d) async for d in gw.read[COLLECTION].find({}).sort("_id", 1)]
    return {"default_max_queued": gw.settings.quota_max_queued, "overrides": items}


async def set_override(
    gw: Gateway, admin: Principal, ip: str, scope: str, target: str, max_queued: int
) -> dict[str, Any]:
    """Store an override (replacing any before it) and audit it as ``quota.set``.

    Raises:
        ApiError: 404 no such user; 422 no such role.
    """
    if scope == "user" and await gw.read.users.find_one({"_id": target}, {"_id": 1}) is None:
        raise not_found("user", target)
    if scope == "role" and target not in ROLES:
        raise invalid(f"role must be one of {', '.join(ROLES)}, not {target!r}", "role")
    doc = {"_id": key(scope, target), "scope": scope, "target": target,
           "max_queued": max_queued, "updated_at": now(), "updated_by": admin.user_id}  # fmt: skip
    await gw.write[COLLECTION].replace_one({"_id": doc["_id"]}, doc, upsert=True)
    await audit.record(gw, admin, ip, "quota.set", key(scope, target), {"max_queued": max_queued})
    return _public(doc)


async def clear_override(gw: Gateway, admin: Principal, ip: str, scope: str, target: str) -> None:
    """Remove an override and audit it as ``quota.clear``. Raises ApiError 404 when there is
    none."""
    done = await gw.write[COLLECTION].delete_one({"_id": key(scope, target)})
    if done.deleted_count == 0:
        raise ApiError(404, "not_found", f"no {scope} quota for {target!r}")
    await audit.record(gw, admin, ip, "quota.clear", key(scope, target))


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("scope", "target", "max_queued", "updated_at", "updated_by")}
