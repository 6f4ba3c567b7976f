"""API keys: created with a login token, shown once, stored hashed, scoped, expiring.

A key expires ``expires_in_days`` after creation, at most (and by default) after
``api_key_max_days``. Its ``last_used_at`` is written at most once a minute per key (a
conditional update, so several replicas add no more writes), which keeps a bot's requests
free of database writes. A replica caches a key lookup for ``auth_cache_ttl_s``; the
owner's token version (see ``sessions``) is checked on every request, so a disabled or
demoted owner takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from kwont_gateway.errors import ApiError, forbidden, invalid, not_found, unauthorized
from kwont_gateway.principal import Principal, Scope
from kwont_gateway.security import digest, new_secret_token, same_digest, split_secret_token
from kwont_gateway.sessions import GONE, current_version, version_of
from kwont_gateway.state import Gateway
from kwont_gateway.users import find_by_id, now

KEY_PREFIX = "kw"
LAST_USED_EVERY = dt.timedelta(minutes=1)
_INVALID = "invalid or revoked API key"


async def create_api_key(
    gw: Gateway, principal: Principal, name: str, scope: Scope, expires_in_days: int | None
) -> dict[str, Any]:
    """A new API key; the secret is returned here once and only its hash is kept.

    Raises:
        ApiError: 403 for a key creating keys, or a trade key for a viewer; 422 for a
            lifetime over ``api_key_max_days``.
    """
    if principal.via != "token":
        raise forbidden("API keys are created with a login token, not with another key")
    if scope == "trade" and principal.role == "viewer":
        raise forbidden("a viewer may only create read keys")
    longest = gw.settings.api_key_max_days
    if expires_in_days is not None and expires_in_days > longest:
        raise invalid(f"expires_in_days: at most {longest}", "expires_in_days")
    days = expires_in_days or longest
    ident, key = new_secret_token(KEY_PREFIX)
    created = now()
    doc = {
        "_id": ident,
        "owner": principal.user_id,
        "name": name,
        "scope": scope,
        "hash": digest(key),
        "created_at": created,
        "expires_at": created + dt.timedelta(days=days),
        "last_used_at": None,
        "revoked_at": None,
    }
    await gw.write.api_keys.insert_one(doc)
    return {**key_public(doc), "key": key}


def key_public(doc: dict[str, Any]) -> dict[str, Any]:
    """An api_keys document as the API shows it (ApiKeyPublic), never the hash."""
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "scope": doc["scope"],
        "created_at": doc["created_at"],
        "expires_at": doc.get("expires_at"),
        "last_used_at": doc.get("last_used_at"),
        "revoked": doc["revoked_at"] is not None,
    }


async def revoke_api_key(gw: Gateway, principal: Principal, key_id: str) -> None:
    """Revoke one of the caller's live keys; a 404 when it is missing, revoked or someone else's."""
    result = await gw.write.api_keys.update_one(
        {"_id": key_id, "owner": principal.user_id, "revoked_at": None},
        {"$set": {"revoked_at": now()}},
    )
    if result.matched_count != 1:
        raise not_found("API key", key_id)
    gw.key_cache.clear()  # this replica forgets at once; others within auth_cache_ttl_s


def _expired(expires_at: dt.datetime) -> ApiError:
    return unauthorized(
        f"API key expired at {expires_at:%Y-%m-%d %H:%M:%S} UTC; create a new one with "
        "POST /api/v1/api-keys (signed in with a login token)"
    )


async def key_principal(gw: Gateway, key: str) -> Principal:
    """The principal of a valid, unexpired API key of an enabled user.

    Raises:
        ApiError: 401 for an unknown, revoked or expired key or a disabled owner.
    """
    hashed = digest(key)
    cached = gw.key_cache.get(hashed)
    if cached is not None and cached[0] > time.monotonic():
        _, principal, version, expires_at, ident = cached
        if expires_at is not None and expires_at <= now():
            raise _expired(expires_at)
        if await current_version(gw, principal.user_id) == version:
            await _touch(gw, ident)
            return principal  # type: ignore[no-any-return]
    ident = split_secret_token(key, KEY_PREFIX)
    doc = await gw.read.api_keys.find_one({"_id": ident}) if ident else None
    if doc is None or doc["revoked_at"] is not None or not same_digest(doc["hash"], hashed):
        raise unauthorized(_INVALID)
    expires_at = doc.get("expires_at")
    if expires_at is not None and expires_at <= now():
        raise _expired(expires_at)
    user = await find_by_id(gw.write, doc["owner"])
    version = version_of(user)
    if user is None or version == GONE:
        raise unauthorized(_INVALID)
    principal = Principal(
        user["_id"], user["username"], user["role"], "api_key", doc["scope"], version
    )
    if len(gw.key_cache) > 10_000:
        gw.key_cache.clear()
    deadline = time.monotonic() + gw.settings.auth_cache_ttl_s
    gw.key_cache[hashed] = (deadline, principal, version, expires_at, doc["_id"])
    await _touch(gw, doc["_id"])
    return principal


async def _touch(gw: Gateway, ident: str) -> None:
    """Record the key's use, at most once a minute per key and replica."""
    at = time.monotonic()
    last = gw.key_touched.get(ident)
    if last is not None and at - last < LAST_USED_EVERY.total_seconds():
        return
    if len(gw.key_touched) > 10_000:
        gw.key_touched.clear()
    gw.key_touched[ident] = at
    stamp = now()
    await gw.write.api_keys.update_one(
        {
            "_id": ident,
            "$or": [{"last_used_at": None}, {"last_used_at": {"$lte": stamp - LAST_USED_EVERY}}],
        },
        {"$set": {"last_used_at": stamp}},
    )
