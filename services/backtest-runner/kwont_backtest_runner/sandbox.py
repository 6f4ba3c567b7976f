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
from urllib.parse import urlsplit, urlunsplit

import docker
from docker.errors import APIError, NotFound
from docker.types import LogConfig, Ulimit

from kwont_backtest_runner.limits import SandboxLimits
from kwont_backtest_runner.outcomes import (
    Cause,
    Failed,
    Outcome,
    Succeeded,
    error_line_outcome,
    pids_limit_hit,
)
from kwont_backtest_runner.redact import Redactor
from kwont_backtest_runner.result_check import InvalidResult, check_curves, check_result
from kwont_backtest_runner.sandbox_io import ProtocolError, StreamReader, decode_curves
from kwont_backtest_runner.sandbox_net import SandboxNetwork

DEFAULT_IMAGE = "kwont/sandbox:latest"
STRATEGY_MOUNT = "/strategy/strategy.py"
SANDBOX_USER = "10001:10001"
LABEL, JOB_LABEL = "kwont.sandbox", "kwont.sandbox.job"
ProgressFn = Callable[[str, float], None]


def sandbox_mongo_uri(readonly_uri: str, gateway: str, port: int) -> str:
    """The read-only user's URI pointed at the relay (host list replaced)."""
    parts = urlsplit(readonly_uri)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{gateway}:{port}" if auth else f"{gateway}:{port}"
    return urlunsplit((parts.scheme, netloc, "/", parts.query, ""))


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
    ) -> None:
        self.client, self.network, self.image = client, network, image
        self.limits = limits or SandboxLimits()
        self.mongo = {
            "uri": sandbox_mongo_uri(readonly_uri, network.gateway, network.relay_port),
            "db": ohlcv_db,
            "collection": "candles",
        }
        self.redact = Redactor.of_uris(readonly_uri, self.mongo["uri"])
        """Masks the credentials handed to the sandbox in everything read back from it."""
        self._cancelled: set[str] = set()

    def run(
        self,
        job: Mapping[str, Any],
        strategy_file: Path | None = None,
        on_progress: ProgressFn | None = None,
        limits: SandboxLimits | None = None,
    ) -> Outcome:
        """Run ``job`` (a ``BacktestJob.model_dump(mode="json")``, or ``{"mode": "describe"}``).

        ``strategy_file``: uploaded code, mounted read-only (built-ins need none).
        ``on_progress(stage, fraction)`` is called from this thread as lines arrive.
        Never raises for anything the job does; raises ``docker.errors.DockerException``
        only when the engine itself fails (image missing, engine down). Every text of the
        outcome (reason, traceback, result strings) has the sandbox's credentials masked.
        """
        lim = limits or self.limits
        job_id = str(job.get("job_id") or f"describe-{uuid.uuid4().hex[:8]}")
        payload: dict[str, Any] = {**job, "mongo": self.mongo, "workers": lim.workers}
        volumes = {}
        if strategy_file is not None:
            payload["strategy_path"] = STRATEGY_MOUNT
            volumes[str(strategy_file.resolve())] = {"bind": STRATEGY_MOUNT, "mode": "ro"}
        container = self.client.containers.create(
            self.image,
            name=f"kwont-sbx-{job_id[:40]}-{uuid.uuid4().hex[:6]}",
            stdin_open=True,
            network=self.network.name,
            user=SANDBOX_USER,
            read_only=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={lim.tmpfs_mib}m,mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=lim.memory_bytes,
            memswap_limit=lim.memory_bytes,  # equal to the memory limit: no swap
            nano_cpus=int(lim.cpus * 1e9),
            pids_limit=lim.pids,
            ulimits=[Ulimit(name="core", soft=0, hard=0)],
            sysctls={"net.ipv6.conf.all.disable_ipv6": "1"},
            volumes=volumes,
            labels={LABEL: "1", JOB_LABEL: job_id},
            log_config=LogConfig(type="none"),  # output is capped here, never logged to disk
            hostname="sandbox",
        )
        try:
            outcome = self._drive(container, job_id, json.dumps(payload).encode(), on_progress,
                                  lim)  # fmt: skip
            if isinstance(outcome, Failed):
                return dataclasses.replace(
                    outcome, reason=self.redact(outcome.reason),
                    traceback=self.redact(outcome.traceback),
                )  # fmt: skip
            return outcome
        finally:
            self._cancelled.discard(job_id)
            with contextlib.suppress(NotFound, APIError):
                container.remove(force=True)

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
        found = self.client.containers.list(filters={"label": f"{JOB_LABEL}={job_id}"})
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
    ) -> Outcome:
        final: list[dict[str, Any]] = []
        problem: list[str] = []

        def on_line(line: dict[str, Any]) -> None:
            if line["type"] == "progress" and not final:
                fraction = line.get("fraction", 0.0)
                if on_progress is not None and isinstance(fraction, int | float) \
                        and math.isfinite(fraction):  # fmt: skip
                    stage = self.redact(str(line.get("stage", "")))[:40]
                    on_progress(stage, min(max(float(fraction), 0.0), 1.0))
            elif line["type"] in ("result", "error") and not final:
                final.append(line)

        reader = StreamReader(on_line)
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        sock = self.client.api.attach_socket(container.id, params=params)
        raw: socket.socket = sock._sock
        started = time.monotonic()
        verdict: Cause | None = None
        try:
            container.start()
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
            if verdict is not None:
                with contextlib.suppress(NotFound, APIError):
                    container.kill()
        try:
            status = container.wait(timeout=10).get("StatusCode", -1)
        except Exception:  # the engine timed out on wait: treat as killed
            status = -1
        container.reload()
        oom = bool(container.attrs["State"].get("OOMKilled"))
        elapsed = time.monotonic() - started
        return self._verdict(
            job_id, verdict, final, problem, oom, status, reader.stderr_text(), lim, elapsed
        )

    def _verdict(
        self,
        job_id: str,
        verdict: Cause | None,
        final: list[dict[str, Any]],
        problem: list[str],
        oom: bool,
        status: int,
        stderr: str,
        lim: SandboxLimits,
        elapsed: float,
    ) -> Outcome:
        def fail(reason: str, cause: Cause, tb: str = "") -> Failed:
            return Failed(reason, cause, tb, elapsed)

        if job_id in self._cancelled:
            return fail("cancelled", "cancelled")
        if verdict == "timeout":
            return fail(f"timed out after {lim.timeout_s:g}s", "timeout", stderr)
        if verdict == "pids":
            return fail(f"process limit ({lim.pids}) exceeded (then timed out)", "pids", stderr)
        if verdict == "output":
            return fail(f"output limit exceeded ({lim.output_mib} MiB)", "output")
        if verdict == "internal":
            return fail(f"sandbox protocol violated: {problem[0]}", "internal", stderr)
        if oom:
            return fail(f"memory limit ({lim.memory_mib} MiB) exceeded", "memory", stderr)
        if final and final[0]["type"] == "result":
            body = {k: v for k, v in final[0].items() if k not in ("type", "v")}
            try:
                check_result(body)
                result = decode_curves(body)
                check_curves(result)
            except InvalidResult as exc:
                return fail(f"invalid result from the sandbox: {exc}", "result")
            except (ValueError, KeyError) as exc:
                return fail(f"sandbox result unreadable: {exc}", "internal")
            body = self.redact.tree(body)
            return Succeeded(self.redact.tree(result), elapsed, raw=body)
        if final:
            return error_line_outcome(final[0], lim, elapsed)
        if "Resource temporarily unavailable" in stderr or "can't start new thread" in stderr:
            return fail(f"process limit ({lim.pids}) exceeded", "pids", stderr)
        if status == 137:
            return fail("killed", "internal", stderr)
        last = stderr.strip().splitlines()[-1:] or ["no output"]
        return fail(f"sandbox exited with status {status} without a result: {last[0]}",
                    "internal", stderr)  # fmt: skip
