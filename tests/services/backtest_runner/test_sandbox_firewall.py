"""The sandbox firewall when several runners on one host install it at once (the two
replicas of test_runner_service, or runner processes sharing a host's network namespace):
the chain must come out with the relay's ACCEPT first, whatever the interleaving. Runs
iptables for real on a bridge name no interface has."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kwont_backtest_runner.sandbox_net import install_firewall, remove_firewall

pytestmark = pytest.mark.integration


def _rules(*args: str) -> list[str]:
    out = subprocess.run(["iptables", "-w", "5", "-S", *args], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.splitlines()


@pytest.mark.skipif(
    shutil.which("iptables") is None, reason="needs iptables (make test installs it)"
)
def test_runners_installing_the_firewall_at_once_leave_the_relay_reachable() -> None:
    bridge = f"kwfw{uuid.uuid4().hex[:6]}"
    chain = f"KWONT-{bridge}"
    try:
        for _ in range(3):
            with ThreadPoolExecutor(6) as pool:
                list(pool.map(lambda _: install_firewall(bridge, "172.31.0.1", 27999), range(6)))
            rules = [r for r in _rules(chain) if r.startswith("-A")]
            assert [r.split(" -j ")[1].split()[0] for r in rules] == ["ACCEPT", "REJECT", "DROP"]
            assert "--dport 27999" in rules[0]
            jumps = [r for r in _rules("INPUT") if f"-j {chain}" in r]
            assert len(jumps) == 1, jumps
    finally:
        remove_firewall(bridge)
        for lock in Path("/run/lock").glob(f"kwont-firewall-{bridge}.lock"):
            lock.unlink()
    assert not [r for r in _rules("INPUT") if f"-j {chain}" in r]
