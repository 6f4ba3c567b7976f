"""The Docker engine: use one that already answers, otherwise start Debian's ``dockerd``.

We never stop a dockerd we did not start. One we start runs in its own session (it
outlives ``kwont-stack up``) with its default socket and data root, so images built for
the sandbox survive restarts; its log goes to the run dir and its PID to a file there.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from kwont_devstack.process import (
    EngineError,
    engine_failure,
    pid_alive,
    pid_command,
    spawn,
    stop_pid,
    wait_healthy,
)

START_TIMEOUT_S = 60.0
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def docker_base_url() -> str:
    """The engine address clients use: ``$DOCKER_HOST`` or the default unix socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


def docker_ping(base_url: str | None = None, timeout: float = 2.0) -> bool:
    """True if the engine at ``base_url`` answers ``GET /_ping`` with ``OK``."""
    url = urlparse(base_url or docker_base_url())
    conn: http.client.HTTPConnection
    if url.scheme == "unix":
        conn = _UnixHTTPConnection(url.path, timeout)
    elif url.scheme in ("tcp", "http"):
        conn = http.client.HTTPConnection(
            url.hostname or "127.0.0.1", url.port or 2375, timeout=timeout
        )
    else:
        return False
    try:
        conn.request("GET", "/_ping")
        response = conn.getresponse()
        return response.status == 200 and response.read().strip() == b"OK"
    except OSError:
        return False
    finally:
        conn.close()


def start_dockerd(run_dir: Path, *, timeout: float = START_TIMEOUT_S) -> int | None:
    """Make sure a Docker engine answers on the default socket.

    Returns None if an engine we did not start answers (never stop it), else the PID of
    our ``dockerd``, started now or by an earlier run (kept in ``run_dir/dockerd.pid``). Raises
    :class:`EngineError` if dockerd is missing, we are not root, or it does not answer in
    ``timeout`` seconds (the error has the tail of ``run_dir/logs/dockerd.log``).
    """
    pid_file = run_dir / "dockerd.pid"
    log_path = run_dir / "logs" / "dockerd.log"
    previous = read_pid(pid_file)
    if docker_ping():
        ours = previous is not None and pid_alive(previous) and "dockerd" in pid_command(previous)
        return previous if ours else None
    if previous is not None and pid_alive(previous) and "dockerd" in pid_command(previous):
        # Ours from an earlier run, still coming up: wait for it rather than start a second.
        wait_healthy("dockerd", docker_ping, timeout=timeout, log_path=log_path)
        return previous
    binary = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not Path(binary).exists():
        raise EngineError("dockerd: not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise EngineError("dockerd: no Docker engine answers and starting one needs root")
    popen = spawn("dockerd", [binary], log_path, detach=True)
    pid_file.write_text(f"{popen.pid}\n")
    try:
        wait_healthy("dockerd", docker_ping, timeout=timeout, log_path=log_path, popen=popen)
    except EngineError:
        stop_own_dockerd(run_dir)
        raise
    return popen.pid


def read_pid(pid_file: Path) -> int | None:
    """The PID stored in ``pid_file``, or None if there is none."""
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def stop_own_dockerd(run_dir: Path, timeout: float = 30.0) -> bool:
    """Stop the dockerd recorded in ``run_dir/dockerd.pid`` (ours only); True if one was stopped.

    Raises :class:`EngineError` if it does not exit.
    """
    pid_file = run_dir / "dockerd.pid"
    pid = read_pid(pid_file)
    if pid is None:
        return False
    if "dockerd" not in pid_command(pid):
        # Stale file and the PID was reused by something else: not ours to stop.
        pid_file.unlink(missing_ok=True)
        return False
    try:
        stopped = stop_pid(pid, timeout=timeout)
    except EngineError as exc:
        raise engine_failure("dockerd", str(exc), run_dir / "logs" / "dockerd.log") from exc
    pid_file.unlink(missing_ok=True)
    return stopped


def run_with_dockerd(run_dir: Path, argv: Sequence[str]) -> int:
    """Run ``argv`` with a Docker engine answering; its exit status.

    An engine that already answers is used and left alone. Otherwise a dockerd is started
    (state in ``run_dir``) and stopped once ``argv`` has exited, whatever its status, so
    ``make test`` owns the engine for all its xdist workers (no worker stops it under the
    other). Ctrl-C reaches ``argv`` (same process group); we wait for it, then clean up.
    Raises :class:`EngineError` if no engine can be started.
    """
    own = None if docker_ping() else start_dockerd(run_dir)
    try:
        child = subprocess.Popen(list(argv))
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        if own is not None:
            stop_own_dockerd(run_dir)
