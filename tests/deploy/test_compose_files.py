"""The compose files, as Docker Compose itself resolves them (`docker compose config`):
production-shaped base, offline override, and what scaling needs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kwont_devstack import config
from tests.deploy.tools import installed

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
SERVICES = tuple(s.name for s in config.SERVICES)  # the devstack's service table
SECRETS = {
    k: f"test-{k.lower()}"
    for k in (
        "KWONT_MONGO_ADMIN_PASSWORD",
        "KWONT_MONGO_APP_PASSWORD",
        "KWONT_MONGO_READONLY_PASSWORD",
        "KWONT_JWT_SECRET",
        "KWONT_ADMIN_PASSWORD",
    )
}

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def compose() -> Path:
    return installed("install-compose.sh", "docker-compose", "Docker Compose")


def config(compose: Path, *files: str) -> dict[str, Any]:
    args = [str(compose), "--project-name", "kwont"]
    for name in files:
        args += ["-f", str(COMPOSE_DIR / name)]
    env = {"PATH": os.environ["PATH"], **SECRETS}
    proc = subprocess.run(
        [*args, "config", "--format", "json"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["services"]  # type: ignore[no-any-return]


def test_production_stack(compose: Path) -> None:
    services = config(compose, "docker-compose.yml")
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert {"mongo-1", "mongo-2", "mongo-init", "mongo-keyfile", "redis", "topics"} <= set(services)
    assert "--keyFile" in services["mongo-2"]["command"]
    assert services["topics"]["command"] == ["kwont-topics", "create"]
    for name in SERVICES:
        svc = services[name]
        assert svc["restart"] == "unless-stopped"
        assert "/healthz" in svc["healthcheck"]["test"]
        assert svc["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert svc["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
        assert "replicaSet=rs0" in svc["environment"]["KWONT_MONGO_URI"]
        assert svc["environment"]["KWONT_KAFKA_IDEMPOTENCE"] == "true"
        # Scalable: nothing that two replicas would fight over.
        assert "container_name" not in svc
        if name != "gateway":
            assert not svc.get("ports"), f"{name} publishes a host port"
    runner = services["backtest-runner"]
    assert runner["network_mode"] == "host" and runner["cap_add"] == ["NET_ADMIN"]
    assert runner["environment"]["KWONT_METRICS_PORT"] == "auto"
    assert any(v["target"] == "/var/run/docker.sock" for v in runner["volumes"])
    # The engines by name, at the fixed addresses they have on the compose network.
    hosts = dict(h.split("=", 1) for h in runner["extra_hosts"])
    for engine in ("kafka", "mongo-1", "mongo-2", "redis"):
        fixed = services[engine]["networks"]["kwont"]["ipv4_address"]
        assert hosts[engine] == fixed


def test_offline_override_swaps_the_engines(compose: Path) -> None:
    services = config(compose, "docker-compose.yml", "docker-compose.offline.yml")
    assert services["kafka"]["image"] == "kwont/tansu:latest"
    assert services["mongo-1"]["image"] == "kwont/secantusdb:latest"
    assert services["redis"]["image"] == "kwont/redis:latest"
    assert "mongo-2" not in services and "mongo-keyfile" not in services  # profile replica-set
    assert services["mongo-1"].get("depends_on") in (None, {})
    for name in SERVICES:
        env = services[name]["environment"]
        assert env["KWONT_KAFKA_IDEMPOTENCE"] == "false"
        assert (
            "replicaSet" not in env["KWONT_MONGO_URI"]
            and "directConnection=true" in env["KWONT_MONGO_URI"]
        )
    assert services["marketdata"]["environment"]["KWONT_FEED"] == "synthetic"
    assert (
        services["marketdata"]["depends_on"]["demo-seed"]["condition"]
        == "service_completed_successfully"
    )
