"""Users: who am I, and the admin's creating and changing of users (audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from kwont_gateway import audit, sessions, users
from kwont_gateway.deps import Admin, GatewayDep, Reader, client_ip
from kwont_gateway.models.auth import MePublic, PasswordChange, UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=MePublic)
async def me(principal: Reader) -> dict[str, Any]:
    """Who the credentials belong to."""
    return {
        "id": principal.user_id,
        "username": principal.username,
        "role": principal.role,
        "via": principal.via,
        "scope": principal.scope,
    }


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(gw: GatewayDep, principal: Reader, body: PasswordChange) -> None:
    """Change your password (with a login token). Every session of yours ends: log in
    again. API keys keep working."""
    await sessions.change_own_password(gw, principal, body.current_password, body.new_password)


@router.post("", response_model=UserPublic, status_code=201)
async def create_user(
    request: Request, gw: GatewayDep, principal: Admin, body: UserCreate
) -> dict[str, Any]:
    """Create a user (admin only)."""
    doc = await users.create_user(gw.write, body.username, body.password, body.role)
    details = {"username": body.username, "role": body.role}
    await audit.record(gw, principal, client_ip(request), "user.create", doc["_id"], details)
    return users.public(doc)


@router.get("", response_model=list[UserPublic])
async def list_users(gw: GatewayDep, principal: Admin) -> list[dict[str, Any]]:
    """Every user, oldest first (admin only)."""
    return [users.public(doc) for doc in await users.list_users(gw.read)]


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(
    request: Request, gw: GatewayDep, principal: Admin, user_id: str, body: UserUpdate
) -> dict[str, Any]:
    """Change a user's role, disable or enable them, or reset their password (admin only).
    Any change ends their sessions at once: access tokens stop working on every replica,
    refresh tokens are revoked."""
    doc = await sessions.change_user(
        gw, principal, user_id, body.role, body.disabled, body.password
    )
    details = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password is not None:
        details["password"] = "reset"
    await audit.record(gw, principal, client_ip(request), "user.update", user_id, details)
    return users.public(doc)
