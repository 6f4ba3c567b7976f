"""A strategy's huge MongoDB query is cut by the sandbox's query time limit (the URI's
``timeoutMS``), and its job fails saying so, long before the wall-clock limit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import docker
import pytest

from kwont_backtest_runner.outcomes import Failed
from kwont_backtest_runner.sandbox import Sandbox
from kwont_backtest_runner.sandbox_net import SandboxNetwork
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant import Candles
from tests.services.backtest_runner.conftest import job_for

pytestmark = pytest.mark.integration

HOSTILE = Path(__file__).parent / "hostile"


def test_huge_query_is_cut_by_the_time_limit(
    docker_client: docker.DockerClient,
    sandbox_network: SandboxNetwork,
    sandbox_image: str,
    mongo: MongoEndpoint,
    market: dict[str, Candles],
    tmp_path: Path,
) -> None:
    code = tmp_path / "uploads" / "huge_query.py"
    code.parent.mkdir()
    code.parent.chmod(0o755)
    shutil.copy(HOSTILE / "huge_query.py", code)
    code.chmod(0o644)
    sandbox = Sandbox(docker_client, sandbox_network, mongo.readonly_uri, image=sandbox_image,
                      spare=False, query_timeout_ms=2000)  # fmt: skip
    query = parse_qs(urlsplit(sandbox.mongo["uri"]).query)
    assert query["timeoutMS"] == ["2000"] and query["directConnection"] == ["true"]
    assert query["maxPoolSize"] == [str(sandbox_network.limits.max_connections - 2)]
    started = time.monotonic()
    outcome = sandbox.run(job_for(sorted(market)[:1], params={}), code,
                          limits=sandbox.limits.model_copy(update={"timeout_s": 60}))  # fmt: skip
    took = time.monotonic() - started
    assert isinstance(outcome, Failed) and outcome.cause == "strategy", outcome
    assert "QUERY finished" not in outcome.reason, outcome.reason
    assert "timeoutMS: 2000" in outcome.reason or "exceeded time limit" in outcome.reason, (
        outcome.reason
    )
    assert took < 20, took  # uncut, the query alone runs ~13 s; the job's own limit is 60 s
