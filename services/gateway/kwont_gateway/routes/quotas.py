"""``/quotas``: your job quota, and the admin's overrides per user and role (audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from kwont_gateway import quotas
from kwont_gateway.deps import Admin, GatewayDep, Reader, client_ip
from kwont_gateway.errors import not_found
from kwont_gateway.models.quotas import QuotaOverride, QuotaSet, QuotaTable, QuotaUsage
from kwont_gateway.principal import Role

router = APIRouter(prefix="/quotas", tags=["quotas"])
SCOPES = {"users": "user", "roles": "role"}


@router.get("/me", response_model=QuotaUsage)
async def my_quota(gw: GatewayDep, principal: Reader) -> dict[str, Any]:
    """Your queued-jobs limit, its source (user, role or default) and your queued jobs."""
    return await quotas.usage(gw, principal)


@router.get("", response_model=QuotaTable)
async def list_quotas(gw: GatewayDep, principal: Admin) -> dict[str, Any]:
    """The default limit and every override (admin only)."""
    return await quotas.overrides(gw)


@router.put("/users/{user_id}", response_model=QuotaOverride)
async def set_user_quota(
    request: Request, gw: GatewayDep, principal: Admin, user_id: str, body: QuotaSet
) -> dict[str, Any]:
    """Set one user's queued-jobs limit, above their role's (admin only, audited)."""
    ip = client_ip(request)
    return await quotas.set_override(gw, principal, ip, "user", user_id, body.max_queued)


@router.put("/roles/{role}", response_model=QuotaOverride)
async def set_role_quota(
    request: Request, gw: GatewayDep, principal: Admin, role: Role, body: QuotaSet
) -> dict[str, Any]:
    """Set the limit of every user of a role without their own (admin only, audited)."""
    ip = client_ip(request)
    return await quotas.set_override(gw, principal, ip, "role", role, body.max_queued)


@router.delete("/{scope}/{target}", status_code=status.HTTP_204_NO_CONTENT)
async def clear_quota(
    request: Request, gw: GatewayDep, principal: Admin, scope: str, target: str
) -> None:
    """Remove an override (``users/<id>`` or ``roles/<role>``); the next one down applies
    (admin only, audited)."""
    if scope not in SCOPES:
        raise not_found("quota scope", scope)
    await quotas.clear_override(gw, principal, client_ip(request), SCOPES[scope], target)
