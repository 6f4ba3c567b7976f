"""redis-server (Debian package ``redis-server``): loopback only, no persistence.

Redis is a cache here (result cache, rate limits), never a queue, so the embedded
profile runs it without RDB snapshots or AOF: ``--save ""`` and ``--appendonly no``.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from kwont_devstack.process import EngineError, EngineProcess, spawn, until_healthy

START_TIMEOUT_S = 15.0


def redis_binary() -> str:
    """Path of ``redis-server``. Raises :class:`EngineError` if it is not installed."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise EngineError("redis: redis-server not found (apt-get install redis-server)")
    return found


def redis_command(host: str, port: int, data_dir: Path) -> list[str]:
    """The argv of a foreground, non-persistent redis-server bound to host:port."""
    return [
        redis_binary(),
        "--bind",
        host,
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]


def redis_healthy(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a RESP ``PING`` on host:port answers ``+PONG``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(
    host: str,
    port: int,
    data_dir: Path,
    log_path: Path,
    *,
    timeout: float = START_TIMEOUT_S,
) -> EngineProcess:
    """Start redis-server on host:port and wait until it answers PING.

    Raises :class:`EngineError` (with the log tail) if it exits or is not healthy in time.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    popen = spawn("redis", redis_command(host, port, data_dir), log_path)
    engine = EngineProcess("redis", host, port, log_path, popen)
    return until_healthy(engine, lambda: redis_healthy(host, port), timeout)
