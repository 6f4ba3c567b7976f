"""Immediate revocation: a per-user token version, embedded in access tokens as ``ver``.

Disabling a user, changing their role or their password bumps ``token_version`` on the
user (and revokes their refresh tokens). Every authentication compares the token's ``ver``
with the current version, read from Redis (``kwont:auth:ver:<user>``, one GET, set with a
TTL of ``token_version_cache_s``) and on a miss from the primary. A bump writes the new
version to Redis at once, so every replica sees it on its next request; readers fill the
cache with ``SET NX``, so a reader that loaded the old version before the bump cannot
overwrite the new one. A disabled or deleted user has version ``-1``, matching no token.

If Redis does not answer, the version is read from MongoDB (fail to the source, never
open); if a bump could not reach Redis, a replica may trust the old cached version for at
most ``token_version_cache_s``.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo import ReturnDocument
from redis.exceptions import RedisError

from kwont_gateway.errors import ApiError, forbidden, invalid, not_found
from kwont_gateway.principal import Principal, Role
from kwont_gateway.security import hash_password, verify_password
from kwont_gateway.state import Gateway
from kwont_gateway.users import now

log = logging.getLogger(__name__)
GONE = -1


def _key(user_id: str) -> str:
    return f"kwont:auth:ver:{user_id}"


def version_of(user: dict[str, Any] | None) -> int:
    """The version a valid token of ``user`` carries; ``GONE`` for disabled or missing."""
    if user is None or user.get("disabled"):
        return GONE
    return int(user.get("token_version", 0))


async def current_version(gw: Gateway, user_id: str) -> int:
    """The user's token version now (one Redis GET; a primary read on a miss)."""
    try:
        cached = await gw.redis.get(_key(user_id))
    except RedisError as exc:
        log.warning("token version cache unavailable, reading MongoDB: %s", exc)
        return version_of(await gw.write.users.find_one({"_id": user_id}))
    if cached is not None:
        return int(cached)
    version = version_of(await gw.write.users.find_one({"_id": user_id}))
    try:
        await gw.redis.set(_key(user_id), version, ex=gw.settings.token_version_cache_s, nx=True)
    except RedisError as exc:
        log.warning("token version cache unavailable: %s", exc)
    return version


async def bump(gw: Gateway, user_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Apply ``changes`` to the user, invalidate their access and refresh tokens at once;
    the updated user, or None when there is no such user."""
    user: dict[str, Any] | None = await gw.write.users.find_one_and_update(
        {"_id": user_id},
        {"$set": changes, "$inc": {"token_version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if user is None:
        return None
    await gw.write.refresh_tokens.update_many(
        {"user": user_id, "revoked_at": None}, {"$set": {"revoked_at": now()}}
    )
    try:
        await gw.redis.set(_key(user_id), version_of(user), ex=gw.settings.token_version_cache_s)
    except RedisError as exc:
        log.warning("could not publish token version of %s: %s", user_id, exc)
    gw.key_cache.clear()
    return user


async def change_user(
    gw: Gateway,
    principal: Principal,
    user_id: str,
    role: Role | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """An admin's change of a user; any change ends the user's sessions (a field set to
    what it already is changes nothing and ends none).

    Raises:
        ApiError: 404 for no such user; 409 for an admin disabling or demoting themselves
            (the platform would be left without the admin doing it); 422 when nothing is to
            change.
    """
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = role
    if disabled is not None:
        changes["disabled"] = disabled
    if password is not None:
        changes["password_hash"] = await hash_password(password)
    if not changes:
        raise invalid("give at least one of role, disabled, password")
    if user_id == principal.user_id and (disabled or role not in (None, "admin")):
        raise ApiError(409, "conflict", "you cannot demote or disable your own account")
    current: dict[str, Any] | None = await gw.write.users.find_one({"_id": user_id})
    if current is None:
        raise not_found("user", user_id)
    # setting what is already so ends no session (an admin re-saving a form stays signed in)
    if changes.get("role") == current.get("role"):
        del changes["role"]
    if "disabled" in changes and changes["disabled"] == bool(current.get("disabled")):
        del changes["disabled"]
    if not changes:
        return current
    user = await bump(gw, user_id, changes)
    if user is None:
        raise not_found("user", user_id)
    return user


async def change_own_password(gw: Gateway, principal: Principal, current: str, new: str) -> None:
    """Change the caller's password; all their sessions end (log in again).

    Raises:
        ApiError: 403 with an API key or a wrong current password.
    """
    if principal.via != "token":
        raise forbidden("passwords are changed with a login token, not with an API key")
    user = await gw.write.users.find_one({"_id": principal.user_id})
    if user is None or not await verify_password(user["password_hash"], current):
        raise forbidden("current password is wrong")
    await bump(gw, principal.user_id, {"password_hash": await hash_password(new)})
