"""The audit log of admin actions (collection ``audit_log``): who, what, target, when,
from which IP. Written after the action succeeded; read by admins newest first."""

from __future__ import annotations

from typing import Any

from kwont_gateway.principal import Principal
from kwont_gateway.security import new_id
from kwont_gateway.state import Gateway
from kwont_gateway.users import now


async def record(
    gw: Gateway,
    principal: Principal,
    ip: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Store one admin action, e.g. ``("user.update", "usr_…", {"role": "viewer"})``."""
    await gw.write.audit_log.insert_one(
        {
            "_id": new_id("aud"),
            "at": now(),
            "actor": principal.user_id,
            "actor_name": principal.username,
            "via": principal.via,
            "ip": ip,
            "action": action,
            "target": target,
            "details": details or {},
        }
    )


async def page(gw: Gateway, limit: int, offset: int) -> dict[str, Any]:
    """One page of the log, newest first."""
    total = await gw.read.audit_log.count_documents({})
    cursor = gw.read.audit_log.find({}).sort([("at", -1), ("_id", -1)]).skip(offset).limit(limit)
    items = [{"id": d.pop("_id"), **d} async for d in cursor]
    return {"total": total, "limit": limit, "offset": offset, "items": items}
