"""SecantusDB (PyPI ``SecantusDB``, import ``secantus``): a MongoDB-wire server on WiredTiger.

CLI facts (0.7.0b3, ``python -m secantus --help``, console script ``secantusd-py``):
``--host``, ``--port``, ``--storage-path DIR`` (WiredTiger home, created if missing),
``--auth`` (SCRAM-SHA-256 required for everything but the handshake / ping),
``--cache-size 256M`` (default 1G), ``--config FILE`` (passing one disables the
auto-discovery of ./secantusd.toml, ~/.secantus/ and /etc/secantus/, which we always do
so a stray file cannot change the server). There is no localhost exception: users are
created with auth off, then the server is restarted with ``--auth``.

``--standalone``: the server presents itself as a standalone, not as a one-member replica
set, and so keeps no oplog. Nothing here uses what the oplog is for (change streams,
transactions); without it a write costs about 40 % less of the server's single core
(measured: update_one 1.49 -> 0.88 ms, upsert 1.15 -> 0.74 ms, find_one 0.67 -> 0.60 ms,
one client, sequential). ``secondaryPreferred`` reads still work (a standalone serves every
read) and pymongo does not make retryable writes against a standalone.

Quirks: the stock daemon can miss a SIGTERM (its main thread waits with no timeout and
the kernel may hand the signal to another thread), so we launch it through
:mod:`kwont_devstack.secantus_main`, which is the same CLI with a signal-friendly wait.
WiredTiger takes an exclusive lock on the storage dir, so a second server on the
same dir dies at once ("Device or resource busy"): wait for the old one to exit before
restarting. On SIGTERM the accept thread sits in ``accept()`` until a 2 s join times out;
a throw-away TCP connection right after the signal wakes it, cutting shutdown from ~3.7 s
to well under a second (see :func:`wake_accept_loop`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from pymongo.errors import PyMongoError

from kwont_devstack.mongo_users import (
    ADMIN_USER,
    MongoCredentials,
    MongoEndpoint,
    can_authenticate,
    mongo_answers,
    mongo_uri,
    upsert_users,
    users_ok,
)
from kwont_devstack.process import EngineError, EngineProcess, port_open, spawn, until_healthy

START_TIMEOUT_S = 30.0
CACHE_SIZE = "256M"


def config_file(data_dir: Path) -> Path:
    """Write (once) and return the empty config file that pins SecantusDB to our flags."""
    path = data_dir.parent / f"{data_dir.name}.secantusd.toml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Written by kwont-devstack: every setting is passed as a flag.\n")
    return path


def secantus_command(host: str, port: int, data_dir: Path, *, auth: bool) -> list[str]:
    """The argv of a foreground SecantusDB server on host:port storing in ``data_dir``."""
    argv = [
        sys.executable,
        "-m",
        "kwont_devstack.secantus_main",
        "--config",
        str(config_file(data_dir)),
        "--host",
        host,
        "--port",
        str(port),
        "--storage-path",
        str(data_dir),
        "--cache-size",
        CACHE_SIZE,
        "--log-level",
        "INFO",
        "--standalone",
    ]
    return [*argv, "--auth"] if auth else argv


def wake_accept_loop(host: str, port: int, alive: Callable[[], bool], budget: float = 5.0) -> None:
    """Poke host:port with empty connections while ``alive()`` holds, so a stopping
    SecantusDB's accept thread returns and sees its stop flag (instead of a 2 s join timeout).
    """
    deadline = time.monotonic() + budget
    while alive() and time.monotonic() < deadline:
        port_open(host, port, timeout=0.1)
        time.sleep(0.05)


def _launch(
    host: str, port: int, data_dir: Path, log_path: Path, *, auth: bool, timeout: float
) -> EngineProcess:
    popen = spawn("secantusdb", secantus_command(host, port, data_dir, auth=auth), log_path)
    engine = EngineProcess(
        "secantusdb",
        host,
        port,
        log_path,
        popen,
        on_stop=lambda: wake_accept_loop(host, port, lambda: popen.poll() is None),
    )
    return until_healthy(engine, lambda: mongo_answers(host, port), timeout)


def provision_offline(
    host: str,
    port: int,
    data_dir: Path,
    log_path: Path,
    credentials: MongoCredentials,
    *,
    timeout: float = START_TIMEOUT_S,
) -> None:
    """Start SecantusDB on ``data_dir`` with auth OFF, upsert the three users, stop it.

    host:port must be free and no other server may hold ``data_dir``. Raises
    :class:`EngineError` if the server does not start or the users cannot be written.
    """
    if port_open(host, port):
        raise EngineError(f"secantusdb: cannot provision users, {host}:{port} is already taken")
    engine = _launch(host, port, data_dir, log_path, auth=False, timeout=timeout)
    try:
        upsert_users(mongo_uri(host, port), credentials)
    except PyMongoError as exc:
        raise EngineError(f"secantusdb: provisioning users failed: {exc}") from exc
    finally:
        engine.stop()


def reconcile_online(endpoint: MongoEndpoint) -> bool:
    """With auth on: if the admin can log in, upsert all users as admin and return True.

    Returns False if the admin password does not match (the caller re-provisions with
    auth off). Raises :class:`EngineError` if the server does not answer.
    """
    try:
        if not can_authenticate(
            endpoint.host, endpoint.port, ADMIN_USER, endpoint.credentials.admin_password
        ):
            return False
        upsert_users(endpoint.admin_uri, endpoint.credentials)
    except PyMongoError as exc:
        raise EngineError(f"secantusdb: reconciling users failed: {exc}") from exc
    return True


def start_secantus(
    host: str,
    port: int,
    data_dir: Path,
    log_path: Path,
    credentials: MongoCredentials,
    *,
    timeout: float = START_TIMEOUT_S,
) -> tuple[EngineProcess, MongoEndpoint]:
    """Start SecantusDB with auth ON and the three users in place, on host:port.

    A fresh ``data_dir`` is provisioned with auth off first (about 1 s); an existing one
    is reconciled as admin, falling back to the auth-off route if the stored admin
    password differs. Raises :class:`EngineError` (with the log tail) on any failure.
    """
    endpoint = MongoEndpoint(host, port, credentials)
    fresh = not (data_dir / "WiredTiger").exists()
    if fresh:
        provision_offline(host, port, data_dir, log_path, credentials, timeout=timeout)
    engine = _launch(host, port, data_dir, log_path, auth=True, timeout=timeout)
    try:
        if not fresh and not reconcile_online(endpoint):
            engine.stop()
            provision_offline(host, port, data_dir, log_path, credentials, timeout=timeout)
            engine = _launch(host, port, data_dir, log_path, auth=True, timeout=timeout)
        if not users_ok(endpoint):
            raise EngineError(
                f"secantusdb: users cannot log in after provisioning (see {log_path})"
            )
    except (EngineError, PyMongoError) as exc:
        engine.stop()
        if isinstance(exc, EngineError):
            raise
        raise EngineError(f"secantusdb: checking users failed: {exc}") from exc
    return engine, endpoint
