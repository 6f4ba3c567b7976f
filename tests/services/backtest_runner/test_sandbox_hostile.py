"""Hostile strategies are contained, each with a reason a user understands, and the
platform keeps working (a normal job succeeds alongside, no container is left behind)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import pytest

from kwont_backtest_runner.outcomes import Failed, Outcome, Succeeded
from kwont_backtest_runner.sandbox import LABEL, Sandbox
from kwont_backtest_runner.sandbox_net import FORWARD_REJECT, SandboxNetwork
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant import Candles
from tests.services.backtest_runner.conftest import job_for

pytestmark = pytest.mark.integration

HOSTILE = Path(__file__).parent / "hostile"


@pytest.fixture
def upload(tmp_path: Path) -> Iterator[object]:
    """Copy a hostile file where the sandbox user can read it (as an upload would be)."""

    def make(name: str, text: str | None = None) -> Path:
        target = tmp_path / "uploads" / name
        target.parent.mkdir(exist_ok=True)
        target.parent.chmod(0o755)
        if text is None:
            shutil.copy(HOSTILE / name, target)
        else:
            target.write_text(text)
        target.chmod(0o644)
        return target

    yield make


def _run(sandbox: Sandbox, market: dict[str, Candles], code: Path, **limits: float) -> Outcome:
    lim = sandbox.limits.model_copy(update=limits) if limits else None
    return sandbox.run(job_for(sorted(market)[:1], params={}), code, limits=lim)


def _report(outcome: Outcome, tag: str) -> dict[str, str]:
    assert isinstance(outcome, Failed) and outcome.cause == "strategy", outcome
    match = re.search(tag + r" (\{.*\})", outcome.reason)
    assert match, outcome.reason
    return dict(json.loads(match.group(1)))


def test_infinite_loop_times_out(sandbox: Sandbox, market: dict[str, Candles], upload) -> None:
    started = time.monotonic()
    outcome = _run(sandbox, market, upload("infinite_loop.py"), timeout_s=4)
    assert isinstance(outcome, Failed) and outcome.cause == "timeout", outcome
    assert outcome.reason == "timed out after 4s"
    assert time.monotonic() - started < 15


def test_allocating_10gb_hits_memory_limit(
    sandbox: Sandbox, market: dict[str, Candles], upload
) -> None:
    outcome = _run(sandbox, market, upload("allocate_10gb.py"), memory_mib=256)
    assert isinstance(outcome, Failed) and outcome.cause == "memory", outcome
    assert outcome.reason == "memory limit (256 MiB) exceeded"


def test_fork_bomb_hits_pids_limit(sandbox: Sandbox, market: dict[str, Candles], upload) -> None:
    outcome = _run(sandbox, market, upload("fork_bomb.py"), timeout_s=20)
    assert isinstance(outcome, Failed) and outcome.cause == "pids", outcome
    assert outcome.reason.startswith(f"process limit ({sandbox.limits.pids}) exceeded")


def test_only_mongo_is_reachable(
    sandbox: Sandbox,
    sandbox_network: SandboxNetwork,
    market: dict[str, Candles],
    mongo: MongoEndpoint,
    upload,
) -> None:
    # A host service bound to every address: what an internal network alone would expose.
    listener = socket.create_server(("0.0.0.0", 0))
    port = listener.getsockname()[1]
    host_ips = [ip for ip in _host_ipv4() if not ip.startswith("127.")]
    gw, relay = sandbox_network.gateway, sandbox_network.relay_port
    targets = [(gw, relay), (gw, port), (gw, mongo.port), ("127.0.0.1", mongo.port)]
    targets += [(ip, port) for ip in host_ips if ip != gw]
    text = (HOSTILE / "net_probe.py").read_text()
    text = text.replace("TARGETS: list[tuple[str, int]] = []", f"TARGETS = {targets!r}")
    # The outside attempt only once the host provably rejects forwarded sandbox traffic.
    check = ["iptables", "-C", "FORWARD", *FORWARD_REJECT(sandbox_network.bridge)]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0
    text = text.replace("TRY_OUTSIDE = False", "TRY_OUTSIDE = True")
    try:
        seen = _report(_run(sandbox, market, upload("net_probe.py", text)), "PROBE")
    finally:
        listener.close()
    assert seen.pop(f"{gw}:{relay}") == "open"
    # Rejected (unreachable) normally; dropped (timed out) when another engine user's network
    # rules were inserted above ours meanwhile. Either way no connection: never open/refused.
    outside = seen.pop("outside")
    assert "unreachable" in outside or "timed out" in outside, seen
    for target, result in seen.items():
        assert "refused" in result or "timed out" in result or "unreachable" in result, target


def test_mongo_is_read_only_market_data(
    sandbox: Sandbox, market: dict[str, Candles], upload
) -> None:
    seen = _report(_run(sandbox, market, upload("mongo_abuse.py")), "MONGO")
    assert seen.pop("read_candles") == "allowed"
    for attempt, result in seen.items():
        assert result.startswith("OperationFailure") and "authori" in result.lower(), (
            attempt,
            result,
        )


def test_printing_1gb_is_cut_off(sandbox: Sandbox, market: dict[str, Candles], upload) -> None:
    started = time.monotonic()
    outcome = _run(sandbox, market, upload("print_1gb.py"))
    assert isinstance(outcome, Failed) and outcome.cause == "output", outcome
    assert outcome.reason == f"output limit exceeded ({sandbox.limits.output_mib} MiB)"
    assert time.monotonic() - started < 20


def test_host_files_are_out_of_reach(sandbox: Sandbox, market: dict[str, Candles], upload) -> None:
    seen = _report(_run(sandbox, market, upload("read_host_files.py")), "FILES")
    assert seen.pop("uid") == "10001"
    assert seen.pop("/etc/shadow").startswith("PermissionError")
    assert seen.pop("/root").startswith("PermissionError")
    assert seen.pop("write_root_fs").startswith(("OSError: Read-only", "PermissionError"))
    for path, result in seen.items():  # host paths simply do not exist in the container
        assert result.startswith(("FileNotFoundError", "PermissionError")), (path, result)


def test_exception_traceback_reaches_user(
    sandbox: Sandbox, market: dict[str, Candles], upload
) -> None:
    outcome = _run(sandbox, market, upload("raise_exception.py"))
    assert isinstance(outcome, Failed) and outcome.cause == "strategy", outcome
    assert (
        outcome.reason
        == "strategy raised: strategy code failed in generate: ValueError: boom at 42"
    )
    assert 'File "/strategy/strategy.py", line 7, in helper' in outcome.traceback


def test_platform_keeps_working_and_cancel(
    sandbox: Sandbox, market: dict[str, Candles], upload, docker_client: docker.DockerClient
) -> None:
    spin = upload("infinite_loop.py")
    spin_job = job_for(sorted(market)[:1], params={})
    with ThreadPoolExecutor(3) as pool:
        hog = pool.submit(sandbox.run, job_for(sorted(market)[:1], params={}),
                          upload("allocate_10gb.py"))  # fmt: skip
        spinning = pool.submit(sandbox.run, spin_job, spin)
        normal = sandbox.run(job_for(sorted(market)))
        assert isinstance(normal, Succeeded), normal
        time.sleep(1.0)
        assert sandbox.cancel(str(spin_job["job_id"]))
        cancelled = spinning.result(timeout=30)
        assert isinstance(cancelled, Failed) and cancelled.cause == "cancelled", cancelled
        assert isinstance(hog.result(timeout=60), Failed)
    left = docker_client.containers.list(
        all=True, filters={"label": f"{LABEL}=1", "network": sandbox.network.name}
    )
    # every container is removed, whatever became of its job; only the spare (created for
    # the next job, never started) may remain
    assert [c.id for c in left if c.id != sandbox.pool.spare_id] == []
    assert all(c.status == "created" for c in left)


def _host_ipv4() -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True)
    return [line.split()[3].split("/")[0] for line in out.stdout.splitlines()]
