"""Entry point of the SecantusDB image: Kwont's three users, then the server with auth on.

Reuses the embedded stack's own code (kwont_devstack, installed without its dependencies):
on every start, :func:`provision_offline` runs the server with auth OFF on a loopback-only
port and upserts admin / kwont_app / backtest_readonly with the passwords from
``KWONT_MONGO_ADMIN_PASSWORD`` / ``KWONT_MONGO_APP_PASSWORD`` /
``KWONT_MONGO_READONLY_PASSWORD`` (so changed passwords take effect at the next start), then
this process becomes the real server (``--auth``, all interfaces, port ``SECANTUS_PORT``)
through the signal-safe wrapper ``kwont_devstack.secantus_main``.

``--ping``: the image's health check (exit 0 if the server answers ``ping``).
``--check-users HOST``: exit 0 if the three users log in on HOST:SECANTUS_PORT (the compose
``mongo-init`` job of the offline override).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from kwont_devstack.mongo_users import USER_ROLES, MongoCredentials, mongo_answers, mongo_uri
from kwont_devstack.process import EngineError
from kwont_devstack.secantusdb import provision_offline, secantus_command

DATA_DIR = Path(os.environ.get("SECANTUS_DATA_DIR", "/data/db"))
PORT = int(os.environ.get("SECANTUS_PORT", "27017"))
PROVISION_PORT = int(os.environ.get("SECANTUS_PROVISION_PORT", "27018"))
_PASSWORDS = (
    "KWONT_MONGO_ADMIN_PASSWORD",
    "KWONT_MONGO_APP_PASSWORD",
    "KWONT_MONGO_READONLY_PASSWORD",
)


def credentials() -> MongoCredentials:
    """The three passwords from the environment; exit 2 naming any that is missing."""
    missing = [name for name in _PASSWORDS if not os.environ.get(name)]
    if missing:
        sys.exit(f"secantusdb: set {', '.join(missing)}")
    return MongoCredentials(*(os.environ[name] for name in _PASSWORDS))


def check_users(host: str, creds: MongoCredentials) -> bool:
    """True if every user logs in. Direct connection: the server names itself by its bind
    address (0.0.0.0), which replica-set discovery would then try to reach."""
    for user in USER_ROLES:
        uri = mongo_uri(host, PORT, user, creds.password_of(user)) + "&directConnection=true"
        try:
            with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
                client.admin.command("ping")
        except PyMongoError as exc:
            print(f"secantusdb: {user} cannot log in on {host}:{PORT}: {exc}", file=sys.stderr)
            return False
    print(f"secantusdb: users {', '.join(USER_ROLES)} log in on {host}:{PORT}")
    return True


def main(argv: list[str]) -> int:
    """Provision the users offline, then exec SecantusDB with auth; --ping and --check-users HOST
    probe instead.
    """
    if "--ping" in argv:
        return 0 if mongo_answers("127.0.0.1", PORT) else 1
    if "--check-users" in argv:
        return 0 if check_users(argv[argv.index("--check-users") + 1], credentials()) else 1
    creds = credentials()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    log = DATA_DIR.parent / "provision.log"
    try:
        provision_offline("127.0.0.1", PROVISION_PORT, DATA_DIR, log, creds)
    except EngineError as exc:
        print(f"secantusdb: {exc}\n{log.read_text() if log.exists() else ''}", file=sys.stderr)
        return 1
    print("secantusdb: users admin, kwont_app, backtest_readonly provisioned", flush=True)
    argv = secantus_command("0.0.0.0", PORT, DATA_DIR, auth=True)
    os.execv(argv[0], argv)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
