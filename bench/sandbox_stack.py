"""The stack the sandbox benchmarks run against: a Docker engine, the sandbox image, tansu,
SecantusDB and Redis on free ports, then the gateway and the backtest-runner.

``bench.backtests`` and ``bench.fairness`` each start one with :func:`sandbox_stack` and
differ only in the settings they add and the image tag they build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from kwont_devstack.dockerd import start_dockerd, stop_own_dockerd
from kwont_devstack.mongo_users import MongoCredentials
from kwont_devstack.process import free_port
from kwont_devstack.redis_server import start_redis
from kwont_devstack.secantusdb import start_secantus
from kwont_devstack.tansu import start_tansu

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "bench-admin-password"
"""The first admin's password in a bench stack."""


@contextmanager
def sandbox_stack(
    name: str, bridge: str, settings: dict[str, str], image: dict[str, str] | None = None
) -> Iterator[str | None]:
    """Start the stack and yield the gateway's base URL; None (after saying why) when the
    sandbox image cannot be built. Everything it started is stopped on the way out.

    Args:
        name: the bench's name, in its work dir, sandbox network and messages.
        bridge: a short prefix (4 characters) of the sandbox network's bridge.
        settings: ``KWONT_`` settings on top of the stack's own.
        image: settings for the image build and the services (e.g. its own
            ``KWONT_SANDBOX_IMAGE``); the process's own environment otherwise.
    """
    work = Path(tempfile.mkdtemp(prefix=f"kwont-bench-{name}-"))
    base = {**os.environ, **(image or {})}
    engines: list[Any] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_dockerd(work)
        build = subprocess.run([str(ROOT / "scripts/build-sandbox-image.sh")], cwd=ROOT, env=base,
                               capture_output=True, text=True, check=False)  # fmt: skip
        if build.returncode != 0:
            print(f"bench.{name}: sandbox image build failed; skipped\n{build.stderr[-2000:]}")
            yield None
            return
        kafka_port, redis_port, api_port = free_port(HOST), free_port(HOST), free_port(HOST)
        engines.append(start_tansu(HOST, kafka_port, work / "tansu.log"))
        mongo, endpoint = start_secantus(HOST, free_port(HOST), work / "mongo", work / "mongo.log",
                                         MongoCredentials.generate())  # fmt: skip
        engines.append(mongo)
        engines.append(start_redis(HOST, redis_port, work / "redis", work / "redis.log"))
        tag = uuid.uuid4().hex[:6]
        env = {
            **base, "KWONT_KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{kafka_port}",
            "KWONT_KAFKA_IDEMPOTENCE": "false", "KWONT_MONGO_URI": endpoint.app_uri,
            "KWONT_MONGO_READONLY_URI": endpoint.readonly_uri,
            "KWONT_REDIS_URL": f"redis://{HOST}:{redis_port}/0", "KWONT_HTTP_PORT": str(api_port),
            "KWONT_RUN_DIR": str(work / "run"), "KWONT_LOG_LEVEL": "WARNING",
            "KWONT_ADMIN_PASSWORD": PASSWORD, "KWONT_SANDBOX_NETWORK": f"kwont-{name}-{tag}",
            "KWONT_SANDBOX_BRIDGE": f"{bridge}{tag}",
            "KWONT_SANDBOX_RELAY_PORT": str(free_port(HOST)),
            "KWONT_SANDBOX_NETWORK_CLEANUP": "true", **settings,
        }  # fmt: skip
        for command in (["kwont-topics", "create"], ["kwont-marketdata", "seed-demo"],
                        ["kwont-gateway", "create-admin"]):  # fmt: skip
            subprocess.run([BIN / command[0], *command[1:]], env=env, check=True,
                           capture_output=True)  # fmt: skip
        for service in ("gateway", "backtest-runner"):
            log = (work / f"{service}.log").open("wb")
            port_env = {**env, "KWONT_METRICS_PORT": str(free_port(HOST))}
            procs.append(subprocess.Popen([BIN / f"kwont-{service}"], env=port_env, stdout=log,
                                          stderr=log))  # fmt: skip
            _wait_ready(f"http://{HOST}:{port_env['KWONT_METRICS_PORT']}/readyz", procs[-1])
        yield f"http://{HOST}:{api_port}"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        for engine in reversed(engines):
            engine.stop()
        stop_own_dockerd(work)
        shutil.rmtree(work, ignore_errors=True)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


async def new_trader(c: httpx.AsyncClient, admin: dict[str, str], name: str) -> dict[str, str]:
    """The auth headers of a new trader ``name`` created by ``admin`` on the stack's gateway."""
    password = f"pw-{uuid.uuid4().hex}"
    body = {"username": name, "password": password, "role": "trader"}
    (await c.post("/api/v1/users", json=body, headers=admin)).raise_for_status()
    form = {"username": name, "password": password}
    token = (await c.post("/api/v1/auth/token", data=form)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
