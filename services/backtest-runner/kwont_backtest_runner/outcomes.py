"""What a sandbox run ends in: :class:`Succeeded` or :class:`Failed` with a user-facing reason."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kwont_backtest_runner.limits import SandboxLimits

Cause = Literal[
    "timeout",
    "memory",
    "pids",
    "output",
    "cancelled",
    "strategy",
    "data",
    "config",
    "result",
    "internal",
]


@dataclass(frozen=True)
class Succeeded:
    """The ``result`` line's payload; equity curves decoded to numpy arrays."""

    result: dict[str, Any]
    duration_s: float
    raw: dict[str, Any] = field(default_factory=dict)
    """The line as received (curves still packed): JSON-able, what the result cache keeps."""
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds per stage of the run (container create/start/exit, the sandbox's own)."""
    ok: Literal[True] = True


@dataclass(frozen=True)
class Failed:
    """``reason`` is for the user; ``cause`` is for code (metrics, retries)."""

    reason: str
    cause: Cause
    traceback: str = ""
    duration_s: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    ok: Literal[False] = False


Outcome = Succeeded | Failed


def error_line_outcome(line: dict[str, Any], lim: SandboxLimits, elapsed: float) -> Failed:
    """The failure an ``error`` protocol line describes."""
    kind, message = str(line.get("kind", "internal")), str(line.get("message", ""))
    tb = str(line.get("traceback", ""))
    if line.get("limit") == "pids":
        return Failed(f"process limit ({lim.pids}) exceeded: {message}", "pids", tb, elapsed)
    if line.get("limit") == "memory":
        return Failed(f"memory limit ({lim.memory_mib} MiB) exceeded", "memory", tb, elapsed)
    if kind == "strategy":
        return Failed(f"strategy raised: {message}", "strategy", tb, elapsed)
    if kind == "data":
        return Failed(f"market data: {message}", "data", tb, elapsed)
    if kind == "config":
        return Failed(f"invalid job: {message}", "config", tb, elapsed)
    return Failed(f"sandbox error: {message}", "internal", tb, elapsed)


def pids_limit_hit(container_id: str) -> bool:
    """True if the container's pids cgroup refused a fork (host cgroup v1 or v2 layout).

    Best effort: only readable when the runner shares the engine host's /sys/fs/cgroup.
    """
    for path in (
        f"/sys/fs/cgroup/pids/docker/{container_id}/pids.events",
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/pids.events",
        f"/sys/fs/cgroup/docker/{container_id}/pids.events",
    ):
        with contextlib.suppress(OSError, ValueError):
            for row in Path(path).read_text().splitlines():
                key, _, value = row.partition(" ")
                if key == "max" and int(value) > 0:
                    return True
    return False
