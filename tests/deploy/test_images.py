"""Every service image starts and answers its health check (`make test-deploy`).

Opt-in (KWONT_DEPLOY_TESTS=1, set by `make test-deploy` after `make images`): building the
images cold takes several minutes, too long for `make test`. Each image runs as built
(entrypoint, non-root user, HEALTHCHECK) on the host network against this session's own
engines from the fixtures; the test waits for Docker's health status `healthy` (the image's
/healthz check) and then for /readyz, which needs Kafka, MongoDB and Redis to answer.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from kwont_devstack import config
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_devstack.process import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = tuple(s.name for s in config.SERVICES)  # the devstack's service table
TIMEOUT_S = 90.0

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("KWONT_DEPLOY_TESTS") != "1",
        reason="image tests are opt-in: `make test-deploy` builds the images and runs them",
    ),
]


@pytest.fixture(scope="module")
def client(docker_engine: str) -> Iterator[docker.DockerClient]:
    conn = docker.DockerClient(base_url=docker_engine)
    missing = [s for s in SERVICES if not conn.images.list(name=f"kwont/{s}:latest")]
    if missing:
        pytest.skip(f"images not built: {missing} (make images)")
    yield conn
    conn.close()


def service_env(kafka: str, mongo: MongoEndpoint, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "KWONT_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "KWONT_KAFKA_IDEMPOTENCE": "false",
        "KWONT_TOPIC_PREFIX": prefix,
        "KWONT_MONGO_URI": mongo.app_uri,
        "KWONT_MONGO_READONLY_URI": mongo.readonly_uri,
        "KWONT_REDIS_URL": redis_url,
        "KWONT_METRICS_HOST": "127.0.0.1",
        "KWONT_SYMBOLS_REFRESH_S": "0",
    }


def test_every_service_image_is_healthy_and_ready(
    client: docker.DockerClient,
    kafka_bootstrap: str,
    mongo: MongoEndpoint,
    redis_url: str,
    unique_name: str,
) -> None:
    prefix = f"{unique_name[:20]}."
    base = service_env(kafka_bootstrap, mongo, redis_url, prefix)
    topics = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "kwont-topics"), "create"],
        env={**os.environ, **base},
        capture_output=True,
        text=True,
    )
    assert topics.returncode == 0, topics.stderr
    suffix = unique_name[-6:]
    containers = {}
    try:
        for service in SERVICES:
            env = {**base, "KWONT_METRICS_PORT": str(free_port("127.0.0.1"))}
            extra: dict[str, object] = {}
            if service == "gateway":
                env |= {
                    "KWONT_HTTP_HOST": "127.0.0.1",
                    "KWONT_HTTP_PORT": str(free_port("127.0.0.1")),
                    "KWONT_JWT_SECRET": "image-test",
                }
            if service == "backtest-runner":
                # As compose runs it: root + NET_ADMIN for the sandbox firewall, the engine's
                # socket; a network, bridge and relay port of its own, removed on stop.
                env |= {
                    "KWONT_SANDBOX_NETWORK": f"kwont-imgtest-{suffix}",
                    "KWONT_SANDBOX_BRIDGE": f"kwimg{suffix}"[:15],
                    "KWONT_SANDBOX_RELAY_PORT": "0",
                    "KWONT_SANDBOX_NETWORK_CLEANUP": "true",
                }
                extra = {
                    "user": "0:0",
                    "cap_add": ["NET_ADMIN"],
                    "volumes": {"/var/run/docker.sock": {"bind": "/var/run/docker.sock"}},
                }
            containers[service] = client.containers.run(
                f"kwont/{service}:latest",
                detach=True,
                network_mode="host",
                environment=env,
                name=f"kwont-imgtest-{service}-{suffix}",
                **extra,
            )
        deadline = time.monotonic() + TIMEOUT_S
        pending = set(SERVICES)
        while pending and time.monotonic() < deadline:
            for service in list(pending):
                c = containers[service]
                c.reload()
                assert c.status == "running", f"{service} exited:\n{c.logs(tail=40).decode()}"
                health = c.attrs["State"].get("Health", {}).get("Status")
                ready = c.exec_run(["python", "-I", "/opt/kwont/probe.py", "/readyz"]).exit_code
                if health == "healthy" and ready == 0:
                    pending.discard(service)
            time.sleep(1)
        details = {s: containers[s].logs(tail=15).decode() for s in pending}
        assert not pending, f"not healthy and ready after {TIMEOUT_S:.0f}s: {details}"
        for service, c in containers.items():
            user = c.exec_run(["id", "-u"]).output.decode().strip()
            assert user == ("0" if service == "backtest-runner" else "10001"), service
    finally:
        for c in containers.values():
            c.stop(timeout=20)
            c.remove(force=True)
