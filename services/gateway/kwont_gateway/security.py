"""Credentials: argon2id password hashes, JWT access tokens, opaque refresh tokens and API keys.

- Passwords: argon2id (argon2-cffi defaults, RFC 9106 low-memory profile), hashed off the
  event loop; hashes are upgraded on login when the parameters change.
- Access tokens: HS256 JWTs carrying the user id, role and token version, short-lived
  (15 min by default); the version is compared with the user's on every request (one Redis
  GET, see ``sessions``), so a revoked session stops at once without a database read.
- Refresh tokens and API keys: ``<prefix>_<id>_<secret>`` with 256 random bits of secret;
  only their SHA-256 is stored (a fast hash is right for random secrets: there is nothing to
  brute-force), so a database leak reveals no usable credential.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kwont_gateway.errors import unauthorized

_HASHER = PasswordHasher()
_ALGORITHM = "HS256"
_ISSUER = "kwont-gateway"


async def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (computed in a worker thread)."""
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; never raises for a wrong password."""

    def check() -> bool:
        try:
            return _HASHER.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other argon2 parameters than today's, so it should be
    redone."""
    return _HASHER.check_needs_rehash(stored_hash)


def new_id(prefix: str) -> str:
    """A fresh object id such as ``bt_3f2a...`` (valid as a Kafka key and a job id)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def issue_access_token(
    secret: str, user_id: str, username: str, role: str, ttl_s: int, version: int = 0
) -> tuple[str, int]:
    """``(token, expires_at_epoch_s)`` of a new access token."""
    now = int(time.time())
    claims = {
        "sub": user_id,
        "name": username,
        "role": role,
        "typ": "access",
        "ver": version,
        "iat": now,
        "exp": now + ttl_s,
        "iss": _ISSUER,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM), now + ttl_s


def decode_access_token(secret: str, token: str) -> dict[str, Any]:
    """The claims of a valid, unexpired access token.

    Raises:
        ApiError: 401 when the token is malformed, forged, expired or not an access token.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["exp", "sub", "iat"]},
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("access token expired: refresh it at /api/v1/auth/refresh") from None
    except jwt.PyJWTError:
        raise unauthorized("invalid access token") from None
    if claims.get("typ") != "access":
        raise unauthorized("not an access token")
    return claims


def new_secret_token(prefix: str) -> tuple[str, str]:
    """``(id, token)`` of a new opaque credential ``<prefix>_<id>_<secret>``."""
    ident = uuid.uuid4().hex
    return ident, f"{prefix}_{ident}_{secrets.token_urlsafe(32)}"


def split_secret_token(token: str, prefix: str) -> str | None:
    """The id inside a well-formed ``<prefix>_<id>_<secret>`` token, else None."""
    head, sep, rest = token.partition("_")
    if head != prefix or not sep:
        return None
    ident, sep, secret = rest.partition("_")
    if not sep or len(ident) != 32 or not secret:
        return None
    return ident


def digest(token: str) -> str:
    """SHA-256 hex of a high-entropy token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(a, b)
