"""Subprocess plumbing shared by every engine: spawn with a log file, wait for health, stop.

An engine is a plain child process whose stdout and stderr go to one log file. Every
start waits for a health check with a capped timeout; on failure the error carries the
tail of that log, because "did not become healthy" alone never tells you why.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL_LINES = 30


class EngineError(RuntimeError):
    """An engine failed to start, answer its health check, or stop."""


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of ``path`` (empty string if it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def engine_failure(name: str, reason: str, log_path: Path | None) -> EngineError:
    """Build an :class:`EngineError` whose message ends with the engine's log tail."""
    message = f"{name}: {reason}"
    if log_path is not None:
        tail = log_tail(log_path)
        message += f"\n--- last lines of {log_path} ---\n{tail or '(log is empty)'}"
    return EngineError(message)


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently free TCP port on ``host``.

    The port is released before it is returned, so another process could take it in
    between; good enough for test engines, which fail loudly if that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """Return True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Return True if a process with ``pid`` exists and is not a zombie we reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # Field 3 is the state; 'Z' is a zombie (dead, waiting to be reaped).
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def pid_command(pid: int) -> str:
    """The command line of ``pid`` (empty string if it is gone or unreadable)."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


@dataclass
class EngineProcess:
    """A running engine: its child process, where it listens and where it logs."""

    name: str
    host: str
    port: int
    log_path: Path
    popen: subprocess.Popen[bytes]
    on_stop: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """The engine's process id."""
        return self.popen.pid

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the engine: SIGTERM, wait up to ``timeout`` s, then SIGKILL.

        Idempotent. Raises :class:`EngineError` only if the process survives SIGKILL.
        """
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        if self.on_stop is not None:
            self.on_stop()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            try:
                self.popen.wait(timeout=5.0)
            except subprocess.TimeoutExpired as exc:
                raise engine_failure(self.name, "did not die after SIGKILL", self.log_path) from exc


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    detach: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout+stderr appended to ``log_path``.

    ``detach`` puts the child in its own session so it outlives the caller (dockerd).
    Raises :class:`EngineError` if the executable cannot be started.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        try:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=detach,
            )
        except OSError as exc:
            raise EngineError(f"{name}: cannot execute {argv[0]!r}: {exc}") from exc


def wait_healthy(
    name: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    log_path: Path | None,
    popen: subprocess.Popen[bytes] | None = None,
    interval: float = 0.05,
) -> float:
    """Poll ``check`` until it returns True; return the seconds it took.

    Raises :class:`EngineError` (with the log tail) if ``popen`` exits first or
    ``timeout`` seconds pass. Exceptions from ``check`` count as "not yet healthy".
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if popen is not None and popen.poll() is not None:
            raise engine_failure(
                name, f"exited with code {popen.returncode} while starting", log_path
            )
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - started
        if time.monotonic() >= deadline:
            raise engine_failure(name, f"not healthy after {timeout:.0f}s", log_path)
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def _reap(pid: int, patience: float = 5.0) -> None:
    """Collect ``pid``'s exit status if it is our child, so it leaves no zombie behind.

    A multi-threaded process (dockerd) shows as a zombie while its other threads are still
    exiting, and cannot be reaped until they have: hence the short wait.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not our child, or already collected
        if reaped or time.monotonic() >= deadline:
            return
        time.sleep(0.02)


def stop_pid(pid: int, timeout: float = 15.0) -> bool:
    """Stop a process we started in an earlier run by its PID: SIGTERM, then SIGKILL.

    Returns False if it was already gone. Raises :class:`EngineError` if it survives.
    """
    if not pid_alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            _reap(pid)
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    _reap(pid)
    if pid_alive(pid):
        raise EngineError(f"process {pid} survived SIGKILL")
    return True


def until_healthy(
    engine: EngineProcess, check: Callable[[], bool], timeout: float
) -> EngineProcess:
    """Wait for a just-spawned ``engine`` to pass ``check``; stop it if it does not.

    Raises :class:`EngineError` (with the log tail) if it exits or is not healthy in time.
    """
    try:
        wait_healthy(
            engine.name, check, timeout=timeout, log_path=engine.log_path, popen=engine.popen
        )
    except EngineError:
        engine.stop()
        raise
    return engine
