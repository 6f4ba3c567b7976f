"""Login (OAuth2 password flow), refresh, logout, users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from kwont_gateway import auth, users
from kwont_gateway.deps import Admin, GatewayDep, Reader
from kwont_gateway.errors import ERROR_RESPONSES
from kwont_gateway.models.auth import MePublic, RefreshCreate, TokenPublic, UserCreate, UserPublic

router = APIRouter(tags=["auth"])
PasswordForm = Annotated[OAuth2PasswordRequestForm, Depends()]


@router.post("/auth/token", response_model=TokenPublic, responses={401: ERROR_RESPONSES[401]})
async def login(gw: GatewayDep, form: PasswordForm) -> dict[str, Any]:
    """OAuth2 password flow: a short-lived access token and a single-use refresh token."""
    return await auth.login(gw, form.username, form.password)


@router.post("/auth/refresh", response_model=TokenPublic, responses={401: ERROR_RESPONSES[401]})
async def refresh(gw: GatewayDep, body: RefreshCreate) -> dict[str, Any]:
    """Exchange a refresh token for a new pair; the presented token is revoked."""
    return await auth.refresh(gw, body.refresh_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(gw: GatewayDep, principal: Reader, body: RefreshCreate) -> None:
    """Revoke one of your refresh tokens."""
    await auth.revoke_refresh(gw, principal, body.refresh_token)


@router.get("/users/me", response_model=MePublic)
async def me(principal: Reader) -> dict[str, Any]:
    """Who the credentials belong to."""
    return {
        "id": principal.user_id,
        "username": principal.username,
        "role": principal.role,
        "via": principal.via,
        "scope": principal.scope,
    }


@router.post("/users", response_model=UserPublic, status_code=201)
async def create_user(gw: GatewayDep, principal: Admin, body: UserCreate) -> dict[str, Any]:
    """Create a user (admin only)."""
    doc = await users.create_user(gw.write, body.username, body.password, body.role)
    return users.public(doc)
