"""`kwont-stack up|status|down` runs the whole platform on free ports in a temp run dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwont_devstack.config import SERVICES, StackConfig
from kwont_devstack.process import free_port, port_open
from kwont_devstack.supervisord import process_info

pytestmark = pytest.mark.integration

STACK = [sys.executable, "-m", "kwont_devstack.cli"]


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment that moves every port and the run dir away from a real `make up`."""
    env = {
        **os.environ,
        "KWONT_RUN_DIR": str(tmp_path_factory.mktemp("run")),
        "KWONT_KAFKA_PORT": str(free_port()),
        "KWONT_MONGO_PORT": str(free_port()),
        "KWONT_REDIS_PORT": str(free_port()),
        "KWONT_GATEWAY_HTTP_PORT": str(free_port()),
        # The sandbox too: a `make up` of this machine may hold the default network.
        "KWONT_SANDBOX_NETWORK": f"kwont-test-{os.getpid()}",
        "KWONT_SANDBOX_BRIDGE": f"kwt{os.getpid() % 10**9}",
        "KWONT_SANDBOX_RELAY_PORT": str(free_port()),
    }
    for spec in SERVICES:
        env[f"KWONT_{spec.env_stem}_METRICS_PORT"] = str(free_port())
    yield env
    subprocess.run([*STACK, "down"], env=env, capture_output=True, timeout=120, check=False)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STACK, *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def test_up_status_up_again_down(stack_env: dict[str, str]) -> None:
    config = StackConfig.from_env(stack_env)
    up = run(stack_env, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    for spec in config.services:
        assert f"http://127.0.0.1:{spec.metrics_port}/metrics" in up.stdout
    secrets = (config.run_dir / "secrets.env").read_text()
    assert oct((config.run_dir / "secrets.env").stat().st_mode & 0o777) == "0o600"
    pids = {name: info["pid"] for name, info in process_info(config).items()}
    assert set(pids) == {"tansu", "secantusdb", "redis", *(s.name for s in SERVICES)}

    status = run(stack_env, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "UNHEALTHY" not in status.stdout

    again = run(stack_env, "up")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
    # Idempotent: nothing was restarted, and the passwords are the same.
    assert {name: info["pid"] for name, info in process_info(config).items()} == pids
    assert (config.run_dir / "secrets.env").read_text() == secrets

    down = run(stack_env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    ports = [config.kafka_port, config.mongo_port, config.redis_port]
    ports += [spec.metrics_port for spec in config.services]
    assert not [port for port in ports if port_open("127.0.0.1", port)]
    assert run(stack_env, "status").returncode == 1
    assert run(stack_env, "down").returncode == 0  # idempotent


def test_logs_of_one_program(stack_env: dict[str, str]) -> None:
    run_dir = Path(stack_env["KWONT_RUN_DIR"])
    result = run(stack_env, "logs", "tansu", "--no-follow", "-n", "50")
    assert result.returncode == 0, result.stderr
    # (the consumer groups joining during `up` add a few lines of tansu ERROR noise: a new
    # group has no stored state yet)
    assert "tansu broker" in result.stdout
    assert (run_dir / "logs" / "tansu.log").exists()
