"""Running one backtest job (or grid shard, or strategy check) in a Docker sandbox.

One container per job from the sandbox image: the job on stdin, JSON lines back on stdout,
read-only root filesystem, a small tmpfs ``/tmp``, non-root, all capabilities dropped,
no-new-privileges, memory (no swap) / CPU / pids limits, a wall-clock timeout, an output cap,
and the sandbox network (only MongoDB reachable, read-only credentials). The container is
always removed. Docker calls block, so :meth:`Sandbox.run_async` runs them on a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import docker
from docker.errors import APIError, NotFound

from kwont_backtest_runner.limits import SandboxLimits
from kwont_backtest_runner.outcomes import (
    Cause,
    Failed,
    Outcome,
    pids_limit_hit,
)
from kwont_backtest_runner.redact import Redactor
from kwont_backtest_runner.sandbox_io import ProtocolError, StreamReader
from kwont_backtest_runner.sandbox_net import SandboxNetwork
from kwont_backtest_runner.sandbox_pool import (
    JOB_LABEL,
    LABEL,
    SparePool,
    containers_of,
    create,
)
from kwont_backtest_runner.sandbox_verdict import decide

DEFAULT_IMAGE = "kwont/sandbox:latest"
STRATEGY_PATH = "/strategy/strategy.py"  # /strategy links to /tmp/strategy in the image
__all__ = ["JOB_LABEL", "LABEL", "Sandbox", "sandbox_mongo_uri"]
#: Stages the sandbox reports on ``timing`` lines (kept as ``sandbox_<stage>``).
SANDBOX_STAGES = ("boot", "numba_cache", "stdin", "import", "strategy", "load", "engine", "encode")
ProgressFn = Callable[[str, float], None]


#: pymongo's monitor connections per server (the heartbeat and, on a streaming server, the
#: round-trip monitor): they count against the relay's cap beside the pool.
MONITOR_CONNECTIONS = 2


def sandbox_mongo_uri(
    readonly_uri: str, gateway: str, port: int, *, timeout_ms: int = 30_000,
    max_connections: int = 8,
) -> str:  # fmt: skip
    """The read-only user's URI pointed at the relay (host list replaced), with the
    sandbox's bounds: ``timeoutMS`` (each operation; pymongo sends it as ``maxTimeMS``; 0:
    none), ``maxPoolSize`` (the relay's cap less the monitor connections; 0: no cap),
    ``directConnection`` (only the relay's address is reachable: never follow the member
    list) and ``readPreference=secondaryPreferred`` (a replica set's secondaries serve
    the reads; a standalone or one member serves them itself)."""
    parts = urlsplit(readonly_uri)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{gateway}:{port}" if auth else f"{gateway}:{port}"
    bounds = {"directConnection": "true", "readPreference": "secondaryPreferred"}
    if timeout_ms:
        bounds["timeoutMS"] = str(timeout_ms)
    if max_connections:
        bounds["maxPoolSize"] = str(max(1, max_connections - MONITOR_CONNECTIONS))
    given = [(k, v) for k, v in parse_qsl(parts.query) if k not in bounds]
    query = urlencode([*given, *bounds.items()])
    return urlunsplit((parts.scheme, netloc, "/", query, ""))


class Sandbox:
    """Launches sandbox containers on one Docker engine and one opened network."""

    def __init__(
        self,
        client: docker.DockerClient,
        network: SandboxNetwork,
        readonly_uri: str,
        *,
        image: str = DEFAULT_IMAGE,
        limits: SandboxLimits | None = None,
        ohlcv_db: str = "ohlcv",
        spare: bool = True,
        query_timeout_ms: int = 30_000,
    ) -> None:
        self.client, self.network, self.image = client, network, image
        self.limits = limits or SandboxLimits()
        uri = sandbox_mongo_uri(
            readonly_uri, network.gateway, network.relay_port, timeout_ms=query_timeout_ms,
            max_connections=network.limits.max_connections,
        )  # fmt: skip
        self.mongo = {
            "uri": uri,
            "db": ohlcv_db,
            "collection": "candles",
        }
        self.redact = Redactor.of_uris(readonly_uri, self.mongo["uri"])
        """Masks the credentials handed to the sandbox in everything read back from it."""
        self._cancelled: set[str] = set()
        self.pool = SparePool(client, image, network.name, self.limits, spare)
        """One created-not-started container for the next built-in job (``sandbox_pool``)."""
        self.pool.refill()

    def close(self) -> None:
        """Remove the spare container."""
        self.pool.close()

    def run(
        self,
        job: Mapping[str, Any],
        strategy_file: Path | None = None,
        on_progress: ProgressFn | None = None,
        limits: SandboxLimits | None = None,
    ) -> Outcome:
        """Run ``job`` (a ``BacktestJob.model_dump(mode="json")``, or ``{"mode": "describe"}``).

        ``strategy_file``: uploaded code, sent on stdin with the job (built-ins need none);
        the sandbox keeps it as ``/strategy/strategy.py`` on its own tmpfs.
        ``on_progress(stage, fraction)`` is called from this thread as lines arrive.
        Never raises for anything the job does; raises ``docker.errors.DockerException``
        only when the engine itself fails (image missing, engine down). Every text of the
        outcome (reason, traceback, result strings) has the sandbox's credentials masked.
        """
        lim = limits or self.limits
        job_id = str(job.get("job_id") or f"describe-{uuid.uuid4().hex[:8]}")
        payload: dict[str, Any] = {**job, "mongo": self.mongo, "workers": lim.workers}
        if strategy_file is not None:  # on stdin, not mounted: any job can start the spare
            payload["strategy_path"] = STRATEGY_PATH
            payload["strategy_source"] = strategy_file.read_text(encoding="utf-8")
        stages: dict[str, float] = {}
        mark = time.perf_counter()
        container = self.pool.take(job_id, lim)
        if container is None:
            container = create(self.client, self.image, self.network.name, lim, job_id)
        stages["container_create"] = time.perf_counter() - mark
        try:
            outcome = self._drive(container, job_id, json.dumps(payload).encode(), on_progress,
                                  lim, stages)  # fmt: skip
            if isinstance(outcome, Failed):
                outcome = dataclasses.replace(
                    outcome, reason=self.redact(outcome.reason),
                    traceback=self.redact(outcome.traceback),
                )  # fmt: skip
        finally:
            self._cancelled.discard(job_id)
            mark = time.perf_counter()
            with contextlib.suppress(NotFound, APIError):
                container.remove(force=True)
            stages["container_remove"] = time.perf_counter() - mark
            self.pool.refill()
        return dataclasses.replace(outcome, stages=stages)

    def describe(self, strategy_file: Path) -> Outcome:
        """Load an uploaded file in a sandbox; the result's ``strategy`` describes it."""
        return self.run({"mode": "describe"}, strategy_file, limits=self.limits)

    async def run_async(
        self,
        job: Mapping[str, Any],
        strategy_file: Path | None = None,
        on_progress: ProgressFn | None = None,
        limits: SandboxLimits | None = None,
    ) -> Outcome:
        """:meth:`run` on a worker thread; ``on_progress`` is called on the caller's loop."""
        loop = asyncio.get_running_loop()

        def relay(stage: str, fraction: float) -> None:
            if on_progress is not None:
                loop.call_soon_threadsafe(on_progress, stage, fraction)

        return await asyncio.to_thread(self.run, job, strategy_file, relay, limits)

    def cancel(self, job_id: str) -> bool:
        """Kill the container of ``job_id`` (on this engine, whichever runner started it).

        Its :meth:`run` then returns ``Failed(cause="cancelled")``. True if one was found.
        """
        self._cancelled.add(job_id)
        found = containers_of(self.client, job_id)
        for c in found:
            with contextlib.suppress(NotFound, APIError):
                c.kill()
        return bool(found)

    def _drive(
        self,
        container: Any,
        job_id: str,
        stdin: bytes,
        on_progress: ProgressFn | None,
        lim: SandboxLimits,
        stages: dict[str, float],
    ) -> Outcome:
        final: list[dict[str, Any]] = []
        raw_final: list[bytes] = []
        problem: list[str] = []

        def on_line(line: dict[str, Any]) -> None:
            if line["type"] == "progress" and not final:
                fraction = line.get("fraction", 0.0)
                if on_progress is not None and isinstance(fraction, int | float) \
                        and math.isfinite(fraction):  # fmt: skip
                    stage = self.redact(str(line.get("stage", "")))[:40]
                    on_progress(stage, min(max(float(fraction), 0.0), 1.0))
            elif line["type"] == "timing":
                seconds = line.get("seconds")
                if line.get("stage") in SANDBOX_STAGES and isinstance(seconds, int | float) \
                        and math.isfinite(seconds):  # fmt: skip
                    stages[f"sandbox_{line['stage']}"] = min(max(float(seconds), 0.0), 1e4)
            elif line["type"] in ("result", "error") and not final:
                final.append(line)
                raw_final.append(reader.last_line)

        reader = StreamReader(on_line)
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        mark = time.perf_counter()
        sock = self.client.api.attach_socket(container.id, params=params)
        raw: socket.socket = sock._sock
        stages["container_attach"] = time.perf_counter() - mark
        started = time.monotonic()
        verdict: Cause | None = None
        try:
            mark = time.perf_counter()
            container.start()
            stages["container_start"] = time.perf_counter() - mark
            mark = time.perf_counter()
            raw.sendall(stdin)
            raw.shutdown(socket.SHUT_WR)  # EOF on the sandbox's stdin
            while True:
                remaining = lim.timeout_s - (time.monotonic() - started)
                if remaining <= 0:
                    verdict = "pids" if pids_limit_hit(container.id) else "timeout"
                    break
                raw.settimeout(min(remaining, 1.0))
                try:
                    data = raw.recv(256 * 1024)
                except TimeoutError:
                    continue
                if not data:
                    break
                try:
                    reader.feed(data)
                except ProtocolError as exc:
                    problem.append(str(exc))
                    verdict = "internal"
                    break
                if reader.total > lim.output_bytes:
                    verdict = "output"
                    break
        finally:
            # Close before killing: dockerd finishes a container's exit only once its
            # attach stream is drained, and we have stopped reading. (Closing the SocketIO
            # wrapper alone leaves the socket open.)
            sock.close()
            raw.close()
            stages["sandbox_run"] = time.perf_counter() - mark
            if verdict is not None:
                with contextlib.suppress(NotFound, APIError):
                    container.kill()
        mark = time.perf_counter()
        try:
            status = container.wait(timeout=10).get("StatusCode", -1)
        except Exception:  # the engine timed out on wait: treat as killed
            status = -1
        container.reload()
        oom = bool(container.attrs["State"].get("OOMKilled"))
        elapsed = time.monotonic() - started
        stages["container_exit"] = time.perf_counter() - mark
        mark = time.perf_counter()
        # the walk over every string of a result costs 0.7 s for a year's trades: skip it
        # when the line as received cannot hold a credential in any form
        secret = not raw_final or self.redact.may_occur_in(raw_final[0])
        outcome = decide(
            job_id in self._cancelled, verdict, final, problem, oom, status,
            reader.stderr_text(), lim, elapsed, self.redact, secret,
        )  # fmt: skip
        stages["result_check"] = time.perf_counter() - mark
        return outcome
