"""The request dependencies, once: the gateway state, the caller, and their budgets.

Route functions declare what they need with these ``Annotated`` types:

- ``Reader``: any authenticated caller, counted against the cheap-read budget;
- ``Trader``: a caller that may change things (trader/admin role, token or trade key);
- ``Submitter``: a trader, counted against the submission budget (backtests, grids);
- ``Admin``: an admin by token or trade key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from kwont_gateway.auth import authenticate, require_admin, require_trade
from kwont_gateway.principal import Principal
from kwont_gateway.ratelimit import Budget
from kwont_gateway.state import Gateway

TOKEN_URL = "/api/v1/auth/token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_gateway(connection: HTTPConnection) -> Gateway:
    """The Gateway the app was started with (its databases, producer, hub and settings)."""
    gw: Gateway = connection.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_principal(
    gw: GatewayDep,
    bearer: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """Who calls: the bearer token or API key checked; a 401 without valid credentials."""
    return await authenticate(gw, bearer, api_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def client_ip(connection: HTTPConnection) -> str:
    """The peer address of the connection, "unknown" when the server does not know it."""
    return connection.client.host if connection.client else "unknown"


async def charge(gw: Gateway, principal: Principal, ip: str, budget: Budget) -> None:
    """Count a request against the caller's and the IP's window of ``budget``."""
    s = gw.settings
    if not s.rate_limit_enabled:
        return
    per_user, per_ip = (
        (s.rate_submit_per_user, s.rate_submit_per_ip)
        if budget == "submit"
        else (s.rate_read_per_user, s.rate_read_per_ip)
    )
    await gw.limiter.check(budget, principal.user_id, ip, per_user, per_ip)


async def _reader(request: Request, gw: GatewayDep, principal: PrincipalDep) -> Principal:
    await charge(gw, principal, client_ip(request), "read")
    return principal


async def _trader(request: Request, gw: GatewayDep, principal: PrincipalDep) -> Principal:
    require_trade(principal)
    await charge(gw, principal, client_ip(request), "read")
    return principal


async def _submitter(request: Request, gw: GatewayDep, principal: PrincipalDep) -> Principal:
    require_trade(principal)
    await charge(gw, principal, client_ip(request), "submit")
    return principal


async def _admin(request: Request, gw: GatewayDep, principal: PrincipalDep) -> Principal:
    require_admin(principal)
    await charge(gw, principal, client_ip(request), "read")
    return principal


Reader = Annotated[Principal, Depends(_reader)]
Trader = Annotated[Principal, Depends(_trader)]
Submitter = Annotated[Principal, Depends(_submitter)]
Admin = Annotated[Principal, Depends(_admin)]


def connection_credentials(connection: HTTPConnection) -> tuple[str | None, str | None]:
    """``(bearer, api_key)`` from headers, or from the ``access_token`` / ``api_key`` query
    parameters (browsers cannot set headers on a WebSocket)."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    bearer = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    key = connection.headers.get("x-api-key")
    bearer = bearer or connection.query_params.get("access_token")
    key = key or connection.query_params.get("api_key")
    return bearer, key
