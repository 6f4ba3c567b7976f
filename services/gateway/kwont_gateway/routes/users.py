"""``/users`` for the admin: list them, change a role, disable or enable one (creating one is
``POST /users`` in routes/auth.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kwont_gateway import users
from kwont_gateway.deps import Admin, GatewayDep
from kwont_gateway.models.auth import UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["auth"])


@router.get("", response_model=list[UserPublic])
async def list_users(gw: GatewayDep, principal: Admin) -> list[dict[str, Any]]:
    """Every user, oldest first (admin only)."""
    return [users.public(doc) for doc in await users.list_users(gw.read)]


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(
    gw: GatewayDep, principal: Admin, user_id: str, body: UserUpdate
) -> dict[str, Any]:
    """Change a user's role, or disable or enable them (admin only)."""
    doc = await users.update_user(gw.write, principal.user_id, user_id, body.role, body.disabled)
    return users.public(doc)
