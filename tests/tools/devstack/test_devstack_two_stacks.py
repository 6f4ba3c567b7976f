"""Two `kwont-stack up`s on one machine: the second is refused naming every setting that
collides, runs once they are moved (printing its own URLs), `down` removes each stack's
sandbox network and firewall rules; and `up` returns only once the backtest-runner's group
has its partitions, so a job sent right then is not left in the queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kwont_devstack.config import SERVICES, StackConfig
from kwont_devstack.kafka_groups import group_state
from kwont_devstack.process import free_port
from kwont_devstack.supervisord import process_info

pytestmark = pytest.mark.integration

STACK = [sys.executable, "-m", "kwont_devstack.cli"]
SANDBOX_KEYS = ("KWONT_SANDBOX_NETWORK", "KWONT_SANDBOX_BRIDGE", "KWONT_SANDBOX_RELAY_PORT")


def stack_env(run_dir: Path) -> dict[str, str]:
    """Every port, the run dir and the sandbox network moved to values of its own."""
    tag = uuid.uuid4().hex[:6]
    env = {
        **os.environ,
        "KWONT_RUN_DIR": str(run_dir),
        "KWONT_KAFKA_PORT": str(free_port()),
        "KWONT_MONGO_PORT": str(free_port()),
        "KWONT_REDIS_PORT": str(free_port()),
        "KWONT_GATEWAY_HTTP_PORT": str(free_port()),
        "KWONT_SANDBOX_NETWORK": f"kwont-test-{tag}",
        "KWONT_SANDBOX_BRIDGE": f"kwt{tag}",
        "KWONT_SANDBOX_RELAY_PORT": str(free_port()),
    }
    for spec in SERVICES:
        env[f"KWONT_{spec.env_stem}_METRICS_PORT"] = str(free_port())
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STACK, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def leftovers(env: dict[str, str]) -> list[str]:
    """The stack's Docker network and the iptables/ip6tables lines naming its bridge."""
    found = []
    network = env["KWONT_SANDBOX_NETWORK"]
    names = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"],
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    found += [f"network {n}" for n in names if n == network]
    for binary in ("iptables", "ip6tables"):
        rules = subprocess.run([binary, "-S"], capture_output=True, text=True, check=False).stdout
        found += [f"{binary}: {line}" for line in rules.splitlines()
                  if env["KWONT_SANDBOX_BRIDGE"] in line]  # fmt: skip
    return found


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], ...]]:
    first = stack_env(tmp_path_factory.mktemp("run-a"))
    second = stack_env(tmp_path_factory.mktemp("run-b"))
    yield first, second
    for env in (second, first):
        run(env, "down")


def _login(api: str, run_dir: Path) -> dict[str, str]:
    password = (run_dir / "gateway" / "admin-password").read_text().strip()
    form = urllib.parse.urlencode({"username": "admin", "password": password}).encode()
    with urllib.request.urlopen(f"{api}/api/v1/auth/token", form, timeout=10) as answer:
        token = json.load(answer)["access_token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _get(url: str, headers: dict[str, str]) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return json.load(r)


def test_up_returns_once_the_runner_has_its_partitions(
    stacks: tuple[dict[str, str], ...],
) -> None:
    env = stacks[0]
    config = StackConfig.from_env(env)
    up = run(env, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    # A killed runner leaves its member in the group until its session times out; the
    # replacement supervisord starts answers /healthz at once but gets no partition for
    # about 14 s. `up` must wait for that join, not only for /healthz.
    killed = process_info(config)["backtest-runner"]["pid"]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (info := process_info(config)["backtest-runner"])["pid"] in (killed, 0) or info[
        "statename"
    ] != "RUNNING":  # supervisord restarts it (startsecs=1)
        assert time.monotonic() < deadline, info
        time.sleep(0.1)
    again = run(env, "up")
    assert again.returncode == 0, again.stdout + again.stderr
    state = group_state(config.host, config.kafka_port, "kwont-backtest-runner")
    assert state == ("Stable", 1), state

    api = f"http://127.0.0.1:{env['KWONT_GATEWAY_HTTP_PORT']}"
    headers = _login(api, config.run_dir)
    body = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTCUSDT"],
            "interval": "1m", "start": "2026-10-01T00:00:00Z", "end": "2026-10-08T00:00:00Z",
            "cash": 10000, "fee_bps": 10}  # fmt: skip
    request = urllib.request.Request(
        f"{api}/api/v1/backtests", json.dumps(body).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        job = json.load(answer)["job_id"]
    deadline = time.monotonic() + 60
    while (doc := _get(f"{api}/api/v1/backtests/{job}", headers))["started_at"] is None:
        assert time.monotonic() < deadline, doc
        time.sleep(0.05)
    waited = (
        datetime.fromisoformat(doc["started_at"]) - datetime.fromisoformat(doc["submitted_at"])
    ).total_seconds()
    print(f"first job after `up`: {waited:.3f}s in the queue")
    assert waited < 2.0, doc


def test_second_stack_refused_then_side_by_side_and_down_leaves_nothing(
    stacks: tuple[dict[str, str], ...],
) -> None:
    first, second = stacks
    up = run(first, "up")  # already up (the test above): returns at once
    assert up.returncode == 0, up.stdout + up.stderr
    assert any(line.startswith("network") for line in leftovers(first)), leftovers(first)

    # Same ports and sandbox as the first stack, another run dir: refused, every setting named.
    clash = {**first, "KWONT_RUN_DIR": second["KWONT_RUN_DIR"]}
    refused = run(clash, "up")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    keys = [k for k in first if k.endswith("_PORT") and k.startswith("KWONT_")] + [*SANDBOX_KEYS]
    missing = [k for k in keys if f"{k}={first[k]}:" not in refused.stderr]
    assert not missing, refused.stderr
    assert "make up" in refused.stderr.splitlines()[-1]  # a line to copy, with moved values
    assert not process_info(StackConfig.from_env(clash))  # nothing of it started

    up = run(second, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    api = f"http://127.0.0.1:{second['KWONT_GATEWAY_HTTP_PORT']}"
    assert f"{api}/docs" in up.stdout and f"{api}/api/v1/auth/token" in up.stdout, up.stdout
    assert ":8000" not in up.stdout
    for env in (first, second):
        assert leftovers(env), "each stack's runner opened its own network and rules"

    for env in (second, first):
        down = run(env, "down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert leftovers(env) == []
        assert not (Path(env["KWONT_RUN_DIR"]) / "sandbox.json").exists()
