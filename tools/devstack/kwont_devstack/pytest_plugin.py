"""pytest fixtures that run Kwont's real engines for the test session.

Enable with ``pytest_plugins = ["kwont_devstack.pytest_plugin"]`` in the root conftest.
Each session-scoped engine fixture starts its OWN engine, lazily (only when a test asks
for it), on a free loopback port with its data in a session temp dir, and stops it when
the session ends, so tests never touch (nor collide with) a stack started by ``make up``.

=================  ==========  ===================================================
fixture            scope       value
=================  ==========  ===================================================
kafka_bootstrap    session     ``"127.0.0.1:PORT"`` of a tansu broker
mongo              session     :class:`MongoEndpoint` (.host .port .admin_uri
                               .app_uri .readonly_uri), SecantusDB with auth on
redis_url          session     ``"redis://127.0.0.1:PORT/0"``
docker_engine      session     Docker base URL, e.g. ``"unix:///var/run/docker.sock"``
unique_name        function    a fresh ``[a-z0-9_]`` name (topic prefix, collection)
mongo_db           function    a fresh database name the app user may read/write and
                               the read-only user may read; dropped afterwards
=================  ==========  ===================================================
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kwont_devstack.dockerd import docker_base_url, docker_ping, start_dockerd, stop_own_dockerd
from kwont_devstack.mongo_users import (
    APP_USER,
    READONLY_USER,
    MongoCredentials,
    MongoEndpoint,
    client,
)
from kwont_devstack.process import EngineError, free_port
from kwont_devstack.redis_server import start_redis
from kwont_devstack.secantusdb import start_secantus
from kwont_devstack.tansu import start_tansu

__all__ = ["MongoEndpoint"]

HOST = "127.0.0.1"
_TIMINGS = pytest.StashKey[dict[str, float]]()
_WORKER_TIMINGS = pytest.StashKey[dict[str, dict[str, float]]]()


def _record(config: pytest.Config, engine: str, started: float) -> None:
    config.stash.setdefault(_TIMINGS, {})[engine] = time.monotonic() - started


@pytest.fixture(scope="session")
def devstack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's directory for engine data and logs (``logs/<engine>.log``)."""
    return tmp_path_factory.mktemp("kwont-devstack")


@pytest.fixture(scope="session")
def kafka_bootstrap(devstack_dir: Path, pytestconfig: pytest.Config) -> Iterator[str]:
    """Bootstrap address of a session-private tansu broker (in-memory, no idempotent producer)."""
    started = time.monotonic()
    port = free_port(HOST)
    engine = start_tansu(HOST, port, devstack_dir / "logs" / "tansu.log", cluster_id="kwont-test")
    _record(pytestconfig, "tansu", started)
    try:
        yield f"{HOST}:{port}"
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def mongo(devstack_dir: Path, pytestconfig: pytest.Config) -> Iterator[MongoEndpoint]:
    """A session-private SecantusDB with auth on and the admin, app and read-only users."""
    started = time.monotonic()
    engine, endpoint = start_secantus(
        HOST,
        free_port(HOST),
        devstack_dir / "data" / "mongo",
        devstack_dir / "logs" / "secantusdb.log",
        MongoCredentials.generate(),
    )
    _record(pytestconfig, "secantusdb", started)
    try:
        yield endpoint
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def redis_url(devstack_dir: Path, pytestconfig: pytest.Config) -> Iterator[str]:
    """URL of a session-private, non-persistent redis-server (database 0)."""
    started = time.monotonic()
    port = free_port(HOST)
    engine = start_redis(
        HOST, port, devstack_dir / "data" / "redis", devstack_dir / "logs" / "redis.log"
    )
    _record(pytestconfig, "redis", started)
    try:
        yield f"redis://{HOST}:{port}/0"
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def docker_engine(devstack_dir: Path, pytestconfig: pytest.Config) -> Iterator[str]:
    """Base URL of a Docker engine that answers; starts dockerd (root) only if none does.

    A dockerd this fixture started is stopped at session end; an existing one is left alone.
    On an xdist worker it never starts one: each worker is a session, and one stopping its
    dockerd would kill the other's containers. ``make test`` (``kwont-stack docker-run``)
    starts the engine before the workers and stops it after them.
    """
    started = time.monotonic()
    if os.environ.get("PYTEST_XDIST_WORKER") and not docker_ping():
        raise EngineError(
            "dockerd: no Docker engine answers and xdist workers do not start one; run "
            "`make test`, or `kwont-stack docker-up` before `pytest -n N`"
        )
    own_pid = start_dockerd(devstack_dir)
    _record(pytestconfig, "dockerd" if own_pid else "dockerd (existing)", started)
    try:
        yield docker_base_url()
    finally:
        if own_pid is not None:
            stop_own_dockerd(devstack_dir)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A fresh name from ``[a-z0-9_]`` (at most 40 chars) derived from the test's name.

    Safe as a topic prefix (``f"{unique_name}."``), a Mongo database or collection name,
    a Redis key prefix or a consumer group id.
    """
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:27] or "t"
    return f"{stem}_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def mongo_db(mongo: MongoEndpoint, unique_name: str) -> Iterator[str]:
    """Name of a fresh database: the app user may read and write it, the read-only user
    may read it (the same shape as ``kwont`` / ``ohlcv``). Dropped after the test.
    """
    name = unique_name
    with client(mongo.admin_uri) as admin_client:
        admin = admin_client.admin
        admin.command("grantRolesToUser", APP_USER, roles=[{"role": "readWrite", "db": name}])
        admin.command("grantRolesToUser", READONLY_USER, roles=[{"role": "read", "db": name}])
        try:
            yield name
        finally:
            admin_client.drop_database(name)
            admin.command(
                "revokeRolesFromUser", APP_USER, roles=[{"role": "readWrite", "db": name}]
            )
            admin.command(
                "revokeRolesFromUser", READONLY_USER, roles=[{"role": "read", "db": name}]
            )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand the engine start-up timings to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["kwont_engine_timings"] = session.config.stash.get(_TIMINGS, {})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: keep a worker's (xdist WorkerController) engine timings."""
    timings = getattr(node, "workeroutput", {}).get("kwont_engine_timings")
    if timings:
        node.config.stash.setdefault(_WORKER_TIMINGS, {})[node.gateway.id] = timings


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Report how long each engine took to start (seconds), when any was started; under
    xdist one line per worker."""
    if hasattr(config, "workerinput"):
        return
    per_session: dict[str, dict[str, float]] = {"": config.stash.get(_TIMINGS, {})}
    workers = config.stash.get(_WORKER_TIMINGS, None)
    per_session.update(workers or {})
    for worker, timings in sorted(per_session.items()):
        if timings:
            shown = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items())
            where = f" ({worker})" if worker else ""
            terminalreporter.write_line(f"kwont-devstack engine start-up{where}: {shown}")
