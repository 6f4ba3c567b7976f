"""Users in Mongo (collection ``users``) and the first admin of a fresh platform."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from pymongo.errors import DuplicateKeyError

from kwont_common.mongo import Database
from kwont_gateway.errors import ApiError
from kwont_gateway.principal import Role
from kwont_gateway.security import hash_password, new_id

ADMIN_USERNAME = "admin"


def now() -> dt.datetime:
    """The current time, UTC-aware."""
    return dt.datetime.now(dt.UTC)


async def create_user(db: Database, username: str, password: str, role: Role) -> dict[str, Any]:
    """Store a new user with an argon2id password hash.

    Raises:
        ApiError: 409 when the username is taken.
    """
    doc = {
        "_id": new_id("usr"),
        "username": username,
        "password_hash": await hash_password(password),
        "role": role,
        "disabled": False,
        "created_at": now(),
    }
    try:
        await db.users.insert_one(doc)
    except DuplicateKeyError:
        raise ApiError(409, "conflict", f"username {username!r} is taken") from None
    return doc


async def find_by_name(db: Database, username: str) -> dict[str, Any] | None:
    """The users document of username, None when there is none."""
    return await db.users.find_one({"username": username})


async def find_by_id(db: Database, user_id: str) -> dict[str, Any] | None:
    """The users document of user_id, None when there is none."""
    return await db.users.find_one({"_id": user_id})


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A users document as the API shows it (UserPublic), without the password hash."""
    return {
        "id": doc["_id"],
        "username": doc["username"],
        "role": doc["role"],
        "disabled": bool(doc.get("disabled")),
        "created_at": doc["created_at"],
    }


async def list_users(db: Database) -> list[dict[str, Any]]:
    """Every user, oldest first."""
    return [doc async for doc in db.users.find({}).sort("created_at", 1)]


async def ensure_admin(db: Database, password: str | None, run_dir: Path) -> tuple[bool, str]:
    """Create the user ``admin`` when missing; idempotent.

    The password is ``password`` when given, otherwise generated and written (mode 0600) to
    ``<run_dir>/gateway/admin-password``. Returns ``(created, where_the_password_is)``.
    """
    stored = Path(run_dir) / "gateway" / "admin-password"
    if await find_by_name(db, ADMIN_USERNAME) is not None:
        where = f"in {stored}" if stored.exists() and not password else "as set before"
        return False, where
    generated = password is None
    secret = password or secrets.token_urlsafe(18)
    try:
        await create_user(db, ADMIN_USERNAME, secret, "admin")
    except ApiError:  # created concurrently by another replica: theirs stands
        return False, "as set before"
    if not generated:
        return True, "from KWONT_ADMIN_PASSWORD"
    stored.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return True, f"generated: {secret} (kept in {stored})"
