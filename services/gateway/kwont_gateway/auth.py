"""Logging in, refreshing, revoking, API keys, and turning credentials into a Principal.

Refresh tokens rotate: each use revokes the presented token and issues a new one. Presenting
a token that was already rotated or revoked is treated as theft and revokes every refresh
token of that user (they must log in again). Access tokens carry the user's token version
(``ver``), checked on every authentication (see ``sessions``); logins are throttled (see
``throttle``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from kwont_gateway.errors import forbidden, not_found, unauthorized
from kwont_gateway.keys import KEY_PREFIX, key_principal
from kwont_gateway.principal import Principal
from kwont_gateway.security import (
    decode_access_token,
    digest,
    hash_password,
    issue_access_token,
    needs_rehash,
    new_secret_token,
    same_digest,
    split_secret_token,
    verify_password,
)
from kwont_gateway.sessions import GONE, current_version, version_of
from kwont_gateway.state import Gateway
from kwont_gateway.users import find_by_id, find_by_name, now

REFRESH_PREFIX = "rt"
REVOKED = "session revoked (password, role or account changed); log in again"


async def _issue(gw: Gateway, user: dict[str, Any]) -> dict[str, Any]:
    s = gw.settings
    access, _ = issue_access_token(
        gw.jwt_secret,
        user["_id"],
        user["username"],
        user["role"],
        s.access_token_ttl_s,
        version_of(user),
    )
    ident, refresh = new_secret_token(REFRESH_PREFIX)
    await gw.write.refresh_tokens.insert_one(
        {
            "_id": ident,
            "user": user["_id"],
            "hash": digest(refresh),
            "ver": version_of(user),
            "created_at": now(),
            "expires_at": now() + dt.timedelta(seconds=s.refresh_token_ttl_s),
            "revoked_at": None,
        }
    )
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": s.access_token_ttl_s,
        "refresh_token": refresh,
        "refresh_expires_in": s.refresh_token_ttl_s,
        "role": user["role"],
    }


async def login(gw: Gateway, username: str, password: str, ip: str) -> dict[str, Any]:
    """Tokens for a valid username and password from client ``ip``.

    Raises:
        ApiError: 401 with one message for an unknown user and a wrong password alike;
            429 while the account or the IP is locked out after failed logins.
    """
    await gw.throttle.check(username, ip)
    user = await find_by_name(gw.write, username)
    if user is None or user.get("disabled"):
        await hash_password(password)  # same cost as a real check: no user enumeration by timing
        await gw.throttle.failed(username, ip)
        raise unauthorized("wrong username or password")
    if not await verify_password(user["password_hash"], password):
        await gw.throttle.failed(username, ip)
        raise unauthorized("wrong username or password")
    await gw.throttle.succeeded(username)
    if needs_rehash(user["password_hash"]):
        new_hash = await hash_password(password)
        await gw.write.users.update_one({"_id": user["_id"]}, {"$set": {"password_hash": new_hash}})
    return await _issue(gw, user)


async def refresh(gw: Gateway, token: str) -> dict[str, Any]:
    """A new token pair for a valid refresh token, which is revoked by the exchange.

    Raises:
        ApiError: 401 for an unknown, expired, revoked or reused token.
    """
    ident = split_secret_token(token, REFRESH_PREFIX)
    doc = await gw.write.refresh_tokens.find_one({"_id": ident}) if ident else None
    if doc is None or not same_digest(doc["hash"], digest(token)):
        raise unauthorized("invalid refresh token")
    if doc["revoked_at"] is not None:
        await gw.write.refresh_tokens.update_many(
            {"user": doc["user"], "revoked_at": None}, {"$set": {"revoked_at": now()}}
        )
        raise unauthorized("refresh token already used or revoked; log in again")
    if doc["expires_at"] <= now():
        raise unauthorized("refresh token expired; log in again")
    claimed = await gw.write.refresh_tokens.update_one(
        {"_id": ident, "revoked_at": None}, {"$set": {"revoked_at": now()}}
    )
    if claimed.modified_count != 1:  # a concurrent refresh won the race
        raise unauthorized("refresh token already used or revoked; log in again")
    user = await find_by_id(gw.write, doc["user"])
    if user is None or user.get("disabled"):
        raise unauthorized("account disabled")
    if doc.get("ver", 0) != version_of(user):  # issued before a revocation that raced us
        raise unauthorized(REVOKED)
    return await _issue(gw, user)


async def revoke_refresh(gw: Gateway, principal: Principal, token: str) -> None:
    """Revoke one of the caller's refresh tokens (log out that session)."""
    ident = split_secret_token(token, REFRESH_PREFIX)
    result = await gw.write.refresh_tokens.update_one(
        {"_id": ident, "user": principal.user_id, "hash": digest(token)},
        {"$set": {"revoked_at": now()}},
    )
    if result.matched_count != 1:
        raise not_found("refresh token", "presented")


async def authenticate(gw: Gateway, bearer: str | None, api_key: str | None) -> Principal:
    """The caller behind an ``Authorization: Bearer`` value or an ``X-API-Key`` value.

    A bearer value that looks like an API key (``kw_...``) is taken as one.

    Raises:
        ApiError: 401 when neither is given or the credential is not valid.
    """
    if api_key is None and bearer is not None and bearer.startswith(KEY_PREFIX + "_"):
        api_key, bearer = bearer, None
    if bearer:
        return await _token_principal(gw, bearer)
    if api_key:
        return await key_principal(gw, api_key)
    raise unauthorized()


async def _token_principal(gw: Gateway, token: str) -> Principal:
    """The principal of a valid access token of the user's current version. The signature
    is verified once, then remembered until the token expires (it is the largest CPU cost
    of an authenticated read); the version is checked every time (one Redis GET)."""
    cached = gw.token_cache.get(token)
    if cached is not None and cached[0] > time.time():
        _, principal, version = cached
    else:
        claims = decode_access_token(gw.jwt_secret, token)
        version = int(claims.get("ver", 0))
        name, role = claims.get("name", ""), claims["role"]
        principal = Principal(claims["sub"], name, role, "token", version=version)
        if len(gw.token_cache) > 10_000:
            gw.token_cache.clear()
        gw.token_cache[token] = (float(claims["exp"]), principal, version)
    current = await current_version(gw, principal.user_id)
    if current != version:
        raise unauthorized("account disabled" if current == GONE else REVOKED)
    return principal  # type: ignore[no-any-return]


def require_trade(principal: Principal) -> None:
    """Raises ApiError 403 unless the caller may change things."""
    if not principal.can_trade:
        raise forbidden(f"{principal.role} with {principal.scope} scope may only read")


def require_admin(principal: Principal) -> None:
    """Raises a 403 ApiError unless the principal is an admin with a trade-scoped credential."""
    if not principal.is_admin:
        raise forbidden("only an admin may do this")
