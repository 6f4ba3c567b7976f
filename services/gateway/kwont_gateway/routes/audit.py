"""The audit log of admin actions, for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kwont_gateway import audit
from kwont_gateway.deps import Admin, GatewayDep
from kwont_gateway.models.audit import AuditPage

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
async def list_audit(
    gw: GatewayDep,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Admin actions (who, what, target, when, from which IP), newest first (admin only)."""
    return await audit.page(gw, limit, offset)
