"""The docker_engine fixture hands out a Docker engine that answers; `kwont-stack docker-run`
(what `make test` runs pytest under) keeps the command's exit status and leaves alone an
engine it did not start."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from kwont_devstack.cli import main
from kwont_devstack.dockerd import _UnixHTTPConnection, docker_ping, run_with_dockerd

pytestmark = pytest.mark.integration


def test_docker_engine_answers(docker_engine: str) -> None:
    assert docker_ping(docker_engine)
    url = urlparse(docker_engine)
    assert url.scheme == "unix"
    conn = _UnixHTTPConnection(url.path, timeout=10)
    try:
        conn.request("GET", "/version")
        version = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert version["ApiVersion"]


def test_docker_run_keeps_the_exit_status_and_an_engine_it_did_not_start(
    docker_engine: str, tmp_path: Path
) -> None:
    status = run_with_dockerd(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    assert status == 3
    assert docker_ping(docker_engine)  # not ours: still running
    assert not (tmp_path / "dockerd.pid").exists()


def test_docker_run_without_a_command_says_how_to_call_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["docker-run", "--"]) == 2
    assert "kwont-stack docker-run -- CMD" in capsys.readouterr().err
