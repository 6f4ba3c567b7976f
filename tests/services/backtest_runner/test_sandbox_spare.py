"""The spare container (``sandbox_pool``): each job starts a container no job started before,
and nothing a job leaves in its container reaches the next job."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import docker

from kwont_backtest_runner.outcomes import Succeeded
from kwont_backtest_runner.sandbox import LABEL, Sandbox
from kwont_quant import Candles
from tests.services.backtest_runner.conftest import job_for

# Fails if it finds what an earlier job left in /tmp, then leaves its own mark there (and in
# its strategy directory, and in the home directory), so the next job would find it.
SNOOP = """
import os
from kwont_quant import Signals, Strategy

MARKS = ["/tmp/left-by-a-job", "/tmp/strategy/left-by-a-job", "/tmp/numba-cache/left"]


class Snoop(Strategy):
    def generate(self, candles) -> Signals:
        seen = [p for p in MARKS if os.path.exists(p)]
        if seen:
            raise ValueError(f"saw an earlier job's files: {seen}")
        for path in MARKS:
            try:
                os.chmod(os.path.dirname(path), 0o700)
            except OSError:
                pass
            try:
                with open(path, "w") as f:
                    f.write("secret of an earlier job")
            except OSError:
                pass
        if not os.path.exists(MARKS[0]):
            raise ValueError("could not leave a mark in /tmp")
        return Signals(enter_long=candles.close > 0)
"""


def _wait_for_spare(sandbox: Sandbox, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (spare := sandbox.pool.spare_id) is not None:
            return spare
        time.sleep(0.05)
    raise AssertionError("no spare container was created")


def _started_since(client: docker.DockerClient, since: dt.datetime) -> list[str]:
    events = client.events(
        since=since, until=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), decode=True,
        filters={"type": "container", "event": "start", "label": f"{LABEL}=1"},
    )  # fmt: skip
    return [e["id"] for e in events]


def test_each_job_starts_the_spare_once_and_sees_nothing_of_the_last(
    sandbox: Sandbox, market: dict[str, Candles], tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:  # fmt: skip
    code = tmp_path / "snoop.py"
    code.write_text(SNOOP)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    taken = []
    for _ in range(3):
        taken.append(_wait_for_spare(sandbox))
        outcome = sandbox.run(job_for(sorted(market)[:1], params={}), code)
        assert isinstance(outcome, Succeeded), outcome
        assert sandbox.pool.spare_id != taken[-1]  # a used spare is never kept
    started = [c for c in _started_since(docker_client, since) if c in taken]
    assert started == taken  # each job ran in the spare it took, and each spare started once
    assert len(set(taken)) == 3
    for container_id in taken:  # and every one of them is gone
        assert not docker_client.containers.list(all=True, filters={"id": container_id})


def test_a_job_with_other_limits_gets_a_fresh_container_and_the_spare_stays(
    sandbox: Sandbox, market: dict[str, Candles]
) -> None:
    spare = _wait_for_spare(sandbox)
    other = sandbox.run(
        job_for(sorted(market)[:1]), limits=sandbox.limits.model_copy(update={"pids": 48})
    )
    assert isinstance(other, Succeeded), other
    assert sandbox.pool.spare_id == spare  # created with the default limits: not for this job
