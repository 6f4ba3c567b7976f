"""Health of everything the stack runs, as rows for ``kwont-stack status`` and ``up``."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from pymongo.errors import PyMongoError

from kwont_devstack.config import ServiceSpec, StackConfig
from kwont_devstack.dockerd import docker_base_url, docker_ping, read_pid
from kwont_devstack.kafka_groups import group_joined
from kwont_devstack.mongo_users import MongoEndpoint, users_ok
from kwont_devstack.process import pid_alive
from kwont_devstack.redis_server import redis_healthy
from kwont_devstack.tansu import kafka_healthy


@dataclass(frozen=True)
class Row:
    """One line of the status table."""

    name: str
    kind: str  # "engine" or "service"
    pid: int | None
    address: str
    healthy: bool
    state: str  # supervisord's state name, or "external" / "absent"


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True if GET ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def healthz_url(config: StackConfig, spec: ServiceSpec) -> str:
    """The service's /healthz URL, on its metrics port."""
    return f"http://{config.host}:{spec.metrics_port}/healthz"


def metrics_url(config: StackConfig, spec: ServiceSpec) -> str:
    """The service's /metrics URL."""
    return f"http://{config.host}:{spec.metrics_port}/metrics"


def api_url(config: StackConfig, spec: ServiceSpec) -> str | None:
    """Base URL of the service's API, or None if it serves none."""
    return None if spec.http_port is None else f"http://{config.host}:{spec.http_port}"


def engine_healthy(config: StackConfig, name: str, mongo: MongoEndpoint) -> bool:
    """Health check of one engine program by name (``tansu``, ``secantusdb``, ``redis``)."""
    if name == "tansu":
        return kafka_healthy(config.host, config.kafka_port)
    if name == "redis":
        return redis_healthy(config.host, config.redis_port)
    if name == "secantusdb":
        try:
            return users_ok(mongo)
        except PyMongoError:
            return False
    raise KeyError(name)


def service_healthy(config: StackConfig, spec: ServiceSpec) -> bool:
    """A service is healthy when /healthz (and, for the gateway, the API's) answers 200."""
    if not http_ok(healthz_url(config, spec)):
        return False
    api = api_url(config, spec)
    return api is None or http_ok(f"{api}/healthz")


def service_ready(config: StackConfig, spec: ServiceSpec) -> bool:
    """Healthy, and each of its consumer groups joined: a message sent now is taken at once
    (see :mod:`kwont_devstack.kafka_groups`)."""
    return service_healthy(config, spec) and all(
        group_joined(config.host, config.kafka_port, group) for group in spec.groups
    )


def collect(
    config: StackConfig, mongo: MongoEndpoint, info: dict[str, dict[str, Any]]
) -> list[Row]:
    """Rows for the engines, Docker and every service in the table, healthy or not."""

    def pid_state(name: str) -> tuple[int | None, str]:
        entry = info.get(name)
        if entry is None:
            return None, "absent"
        return (entry["pid"] or None), str(entry["statename"])

    rows = []
    for name, port in (
        ("tansu", config.kafka_port),
        ("secantusdb", config.mongo_port),
        ("redis", config.redis_port),
    ):
        pid, state = pid_state(name)
        rows.append(Row(name, "engine", pid, f"{config.host}:{port}",
                        engine_healthy(config, name, mongo), state))  # fmt: skip
    own_docker = read_pid(config.run_dir / "dockerd.pid")
    if own_docker is not None and not pid_alive(own_docker):
        own_docker = None
    rows.append(Row("docker", "engine", own_docker, docker_base_url(), docker_ping(),
                    "ours" if own_docker else "external"))  # fmt: skip
    for spec in config.services:
        pid, state = pid_state(spec.name)
        address = metrics_url(config, spec)
        api = api_url(config, spec)
        if api:
            address = f"{api} (metrics {address})"
        rows.append(Row(spec.name, "service", pid, address, service_healthy(config, spec), state))
    return rows
