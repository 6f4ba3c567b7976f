"""Login (OAuth2 password flow), refresh, logout."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from kwont_gateway import auth
from kwont_gateway.deps import GatewayDep, Reader, client_ip
from kwont_gateway.errors import ERROR_RESPONSES
from kwont_gateway.models.auth import RefreshCreate, TokenPublic

router = APIRouter(tags=["auth"])
PasswordForm = Annotated[OAuth2PasswordRequestForm, Depends()]


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    responses={401: ERROR_RESPONSES[401], 429: ERROR_RESPONSES[429]},
)
async def login(request: Request, gw: GatewayDep, form: PasswordForm) -> dict[str, Any]:
    """OAuth2 password flow: a short-lived access token and a single-use refresh token.
    Repeated failures lock the account and the client IP out for a while (429)."""
    return await auth.login(gw, form.username, form.password, client_ip(request))


@router.post("/auth/refresh", response_model=TokenPublic, responses={401: ERROR_RESPONSES[401]})
async def refresh(gw: GatewayDep, body: RefreshCreate) -> dict[str, Any]:
    """Exchange a refresh token for a new pair; the presented token is revoked."""
    return await auth.refresh(gw, body.refresh_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(gw: GatewayDep, principal: Reader, body: RefreshCreate) -> None:
    """Revoke one of your refresh tokens."""
    await auth.revoke_refresh(gw, principal, body.refresh_token)
