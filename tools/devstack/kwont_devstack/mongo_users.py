"""The three MongoDB users of Kwont, their URIs, and idempotent provisioning.

Kwont has three MongoDB users: an admin for provisioning, the app user (readWrite), and a
read-only user for backtest sandboxes. All live in the ``admin`` database, so every URI
carries ``authSource=admin``. SecantusDB stores SCRAM-SHA-256 credentials only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote_plus

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

ADMIN_USER = "admin"
APP_USER = "kwont_app"
READONLY_USER = "backtest_readonly"

#: Databases the app user may write and the sandbox user may read.
APP_DATABASES = ("kwont", "ohlcv")
READONLY_DATABASES = ("ohlcv",)

USER_ROLES: dict[str, list[dict[str, str]]] = {
    ADMIN_USER: [{"role": "root", "db": "admin"}],
    APP_USER: [{"role": "readWrite", "db": db} for db in APP_DATABASES],
    READONLY_USER: [{"role": "read", "db": db} for db in READONLY_DATABASES],
}

_USER_NOT_FOUND = 11
_CLIENT_TIMEOUT_MS = 3000


@dataclass(frozen=True)
class MongoCredentials:
    """Passwords of the three users (generated once, kept by the caller)."""

    admin_password: str
    app_password: str
    readonly_password: str

    @classmethod
    def generate(cls) -> MongoCredentials:
        """Fresh random passwords (hex, so they need no quoting anywhere)."""
        return cls(secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(16))

    def password_of(self, user: str) -> str:
        """The password of ``user``. Raises ``KeyError`` for an unknown user."""
        return {
            ADMIN_USER: self.admin_password,
            APP_USER: self.app_password,
            READONLY_USER: self.readonly_password,
        }[user]


def mongo_uri(host: str, port: int, user: str | None = None, password: str | None = None) -> str:
    """``mongodb://`` URI for host:port, authenticating ``user`` against ``admin`` if given."""
    if user is None:
        return f"mongodb://{host}:{port}/"
    auth = f"{quote_plus(user)}:{quote_plus(password or '')}@"
    return f"mongodb://{auth}{host}:{port}/?authSource=admin"


@dataclass(frozen=True)
class MongoEndpoint:
    """Where SecantusDB listens and the URI of each user (what the ``mongo`` fixture returns)."""

    host: str
    port: int
    credentials: MongoCredentials

    @property
    def admin_uri(self) -> str:
        """URI of the admin user (root, for provisioning)."""
        return mongo_uri(self.host, self.port, ADMIN_USER, self.credentials.admin_password)

    @property
    def app_uri(self) -> str:
        """URI of the app user (readWrite on ``kwont`` and ``ohlcv``)."""
        return mongo_uri(self.host, self.port, APP_USER, self.credentials.app_password)

    @property
    def readonly_uri(self) -> str:
        """URI of the read-only user (read on ``ohlcv``, for backtest sandboxes)."""
        return mongo_uri(self.host, self.port, READONLY_USER, self.credentials.readonly_password)


def client(uri: str) -> MongoClient[dict[str, object]]:
    """A short-timeout synchronous client, for provisioning and health checks."""
    return MongoClient(
        uri, serverSelectionTimeoutMS=_CLIENT_TIMEOUT_MS, connectTimeoutMS=_CLIENT_TIMEOUT_MS
    )


def mongo_answers(host: str, port: int) -> bool:
    """True if host:port answers ``ping`` (allowed before authentication)."""
    try:
        with client(mongo_uri(host, port)) as conn:
            conn.admin.command("ping")
        return True
    except PyMongoError:
        return False


def can_authenticate(host: str, port: int, user: str, password: str) -> bool:
    """True if ``user`` logs in with ``password``. Raises ``PyMongoError`` if the server is down."""
    try:
        with client(mongo_uri(host, port, user, password)) as conn:
            conn.admin.command("ping")
        return True
    except OperationFailure as exc:
        if exc.code == 18:  # AuthenticationFailed
            return False
        raise


def users_ok(endpoint: MongoEndpoint) -> bool:
    """True if all three users log in with their passwords."""
    return all(
        can_authenticate(endpoint.host, endpoint.port, user, endpoint.credentials.password_of(user))
        for user in USER_ROLES
    )


def upsert_users(uri: str, credentials: MongoCredentials) -> None:
    """Create each user, or reset its password and add its base roles if it exists
    (idempotent).

    An existing user keeps the roles granted to it since (``grantRolesToUser`` on another
    database): a restart of the server must not take them away. ``updateUser`` with
    ``roles`` replaces the whole list, which is what dropped them on every restart before.

    ``uri`` is either an unauthenticated URI of a server running with auth off, or the
    admin URI of a server running with auth on. Raises ``PyMongoError`` on failure.
    """
    with client(uri) as conn:
        admin = conn.admin
        for user, roles in USER_ROLES.items():
            password = credentials.password_of(user)
            try:
                admin.command("updateUser", user, pwd=password)
            except OperationFailure as exc:
                if exc.code != _USER_NOT_FOUND:
                    raise
                admin.command("createUser", user, pwd=password, roles=roles)
                continue
            admin.command("grantRolesToUser", user, roles=roles)
