"""The audit log of admin actions, for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from kwont_gateway import audit, paging
from kwont_gateway.deps import Admin, GatewayDep
from kwont_gateway.models.audit import AuditPage
from kwont_gateway.paging import Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
async def list_audit(
    gw: GatewayDep,
    principal: Admin,
    page: Annotated[Page, paging.query(paging.AUDIT)],
) -> dict[str, Any]:
    """Admin actions (who, what, target, when, from which IP), newest first (admin only)."""
    return await audit.page(gw, page.limit, page.offset)
