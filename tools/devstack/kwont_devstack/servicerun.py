"""Kwont services as real processes against given engines, for end-to-end tests and
benchmarks: start, kill -9, restart, read their metrics, stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from kwont_devstack.mongo_users import MongoEndpoint

BIN = Path(sys.executable).parent
TRADING = ("marketdata", "strategy", "risk", "execution", "portfolio")


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """GET ``url``: its status and body, an HTTP error's too.

    Raises:
        OSError: no answer (connection refused, timeout).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@dataclass
class Proc:
    """One started service process: its metrics port, the process and its log."""

    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Pipeline:
    """Services started with one shared environment (topic prefix, databases)."""

    kafka: str
    mongo: MongoEndpoint
    database: str
    market_database: str
    prefix: str
    logs: Path
    env: dict[str, str] = field(default_factory=dict)
    group_prefix: str = ""
    """When set, each service's consumer group is ``<group_prefix>-<service>`` instead of
    the default ``kwont-<service>`` shared with the other tests on the broker."""
    procs: dict[str, Proc] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    def environment(self, name: str, port: int) -> dict[str, str]:
        """Service ``name``'s environment: this process's, the pipeline's settings, then ``env``."""
        return {
            **os.environ,
            "KWONT_KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "KWONT_KAFKA_IDEMPOTENCE": "false",
            "KWONT_TOPIC_PREFIX": self.prefix,
            "KWONT_METRICS_PORT": str(port),
            "KWONT_MONGO_URI": self.mongo.app_uri,
            "KWONT_MONGO_READONLY_URI": self.mongo.readonly_uri,
            "KWONT_MONGO_DATABASE": self.database,
            "KWONT_MONGO_MARKET_DATABASE": self.market_database,
            "KWONT_SYMBOLS_REFRESH_S": "0",
            "KWONT_LOG_LEVEL": "INFO",
            **(
                {"KWONT_CONSUMER_GROUP": f"{self.group_prefix}-{name.split('.')[0]}"}
                if self.group_prefix
                else {}
            ),
            **self.env,
        }

    def start(self, name: str, extra: dict[str, str] | None = None) -> Proc:
        """Start service ``name``; ``"<service>.<n>"`` is another replica of it (its own
        process, port and log, same group)."""
        port = self.procs[name].port if name in self.procs else free_port()
        self.starts[name] = self.starts.get(name, 0) + 1
        log = self.logs / f"{name}.{self.starts[name]}.log"
        env = {**self.environment(name, port), **(extra or {})}
        program = BIN / f"kwont-{name.split('.')[0]}"
        with log.open("wb") as out:
            popen = subprocess.Popen([program], env=env, stdout=out, stderr=out)
        proc = Proc(name, port, popen, log)
        self.procs[name] = proc
        return proc

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        """Wait until ``name``'s /readyz answers 200.

        Raises:
            AssertionError: it exited, or was not ready in ``timeout`` s (with its log's tail).
        """
        proc = self.procs[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise AssertionError(f"{name} exited {proc.popen.returncode}:\n{self.tail(name)}")
            try:
                if http_get(f"http://127.0.0.1:{proc.port}/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{name} not ready in {timeout}s:\n{self.tail(name)}")

    def kill9(self, name: str) -> None:
        """SIGKILL ``name`` and wait for it to die."""
        proc = self.procs[name]
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait(10)

    def tail(self, name: str, chars: int = 3000) -> str:
        """The last ``chars`` characters of ``name``'s current log."""
        return self.procs[name].log.read_text(errors="replace")[-chars:]

    def metric(self, name: str, metric: str, labels: str = "") -> float:
        """Sum of a metric's samples whose label text contains ``labels``."""
        try:
            status, text = http_get(f"http://127.0.0.1:{self.procs[name].port}/metrics")
        except OSError:
            return float("nan")
        if status != 200:
            return float("nan")
        total = 0.0
        pattern = re.compile(rf"^{re.escape(metric)}(\{{[^}}]*\}})? ([0-9.e+-]+)$", re.M)
        for m in pattern.finditer(text):
            if labels in (m.group(1) or ""):
                total += float(m.group(2))
        return total

    def lag(self) -> float:
        """Total consumer lag of the services still running (NaN if one's /metrics fails)."""
        return sum(self.metric(n, "kwont_consumer_lag") for n in self.procs if self.alive(n))

    def alive(self, name: str) -> bool:
        """Whether ``name``'s process is still running."""
        return self.procs[name].popen.poll() is None

    def stop_all(self) -> dict[str, int]:
        """SIGTERM every running service, wait up to 30 s each, SIGKILL the rest; each one's exit
        code (-9 when killed here)."""
        for proc in self.procs.values():
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.popen.wait(30)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                codes[name] = -9
        return codes
