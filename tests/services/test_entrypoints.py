"""Every service starts from its console script against a real broker, serves /healthz,
/readyz and Prometheus /metrics, consumes, and exits 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kwont_common.kafka.admin import ensure_topics
from kwont_common.settings import Settings
from kwont_devstack.mongo_users import MongoEndpoint

pytestmark = pytest.mark.integration
SERVICES = [
    "gateway",
    "marketdata",
    "strategy",
    "risk",
    "execution",
    "portfolio",
    "backtest-runner",
    "notifier",
]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_ok(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: process exited {proc.returncode}")
        try:
            status, body = get(url)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 in {timeout}s")


async def test_every_service_runs_serves_metrics_and_stops_on_sigterm(
    kafka_bootstrap: str, mongo: MongoEndpoint, redis_url: str, docker_engine: str,
    unique_name: str, tmp_path: Path,
) -> None:  # fmt: skip
    prefix = f"{unique_name}."
    await ensure_topics(
        Settings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=prefix, topic_partitions=1)
    )
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    api_port = free_port()
    try:
        for name in SERVICES:
            port = free_port()
            env = {
                **os.environ,
                "KWONT_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "KWONT_KAFKA_IDEMPOTENCE": "false",
                "KWONT_TOPIC_PREFIX": prefix,
                "KWONT_METRICS_PORT": str(port),
                "KWONT_HTTP_PORT": str(api_port),
                "KWONT_MONGO_URI": mongo.app_uri,
                "KWONT_MONGO_READONLY_URI": mongo.readonly_uri,
                "KWONT_REDIS_URL": redis_url,
                "KWONT_DOCKER_URL": docker_engine,
                "KWONT_SANDBOX_NETWORK": f"kwont-ep-{unique_name[-6:]}",
                "KWONT_SANDBOX_BRIDGE": f"kwep{unique_name[-6:]}",
                "KWONT_SANDBOX_RELAY_PORT": str(free_port()),
                "KWONT_SANDBOX_NETWORK_CLEANUP": "true",
            }
            log = (tmp_path / f"{name}.log").open("wb")
            proc = subprocess.Popen([BIN / f"kwont-{name}"], env=env, stderr=log, stdout=log)
            procs[name] = (proc, port)
        for name, (proc, port) in procs.items():
            assert '"status": "ok"' in wait_ok(f"http://127.0.0.1:{port}/healthz", proc)
            assert '"ready": true' in wait_ok(f"http://127.0.0.1:{port}/readyz", proc), name
            status, metrics = get(f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and "# TYPE kwont_messages_consumed_total counter" in metrics
            assert "kwont_handler_seconds" in metrics and "kwont_consumer_lag" in metrics
        gateway = procs["gateway"][0]
        assert '"status":"ok"' in wait_ok(f"http://127.0.0.1:{api_port}/healthz", gateway)
    finally:
        for proc, _ in procs.values():
            proc.send_signal(signal.SIGTERM)
        codes = {name: proc.wait(30) for name, (proc, _) in procs.items()}
    assert codes == dict.fromkeys(SERVICES, 0), {
        n: (tmp_path / f"{n}.log").read_text()[-2000:] for n, c in codes.items() if c
    }
    for name in SERVICES:
        lines = (tmp_path / f"{name}.log").read_text().splitlines()
        assert any(f'"service": "{name}"' in line for line in lines), f"{name}: no JSON log line"


def test_sigterm_during_startup_exits_promptly(tmp_path: Path) -> None:
    """A service still waiting for its broker stops at once on SIGTERM, not after retries."""
    port = free_port()
    env = {**os.environ, "KWONT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
           "KWONT_METRICS_PORT": str(port), "KWONT_STARTUP_TIMEOUT_S": "120"}  # fmt: skip
    proc = subprocess.Popen([BIN / "kwont-risk"], env=env, stderr=subprocess.PIPE)
    try:
        wait_ok(f"http://127.0.0.1:{port}/healthz", proc)
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 503 and '"setup": false' in body, "not ready before start-up ends"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - started < 5
    finally:
        proc.kill()
