"""What comes back from a sandbox is checked and cleaned at the boundary: a forged result
line fails the job with a reason, and the sandbox's credentials never leave in an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from kwont_backtest_runner.outcomes import Failed
from kwont_backtest_runner.sandbox import Sandbox
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant import Candles
from tests.services.backtest_runner.conftest import job_for

pytestmark = pytest.mark.integration

FORGE = '''
import os

from kwont_quant import Signals, Strategy
from kwont_sandbox import protocol

LINE = {line!r}


class Forge(Strategy):
    """Writes its own result line on the protocol's private stdout, then exits."""

    def generate(self, candles) -> Signals:
        protocol._out.write(LINE + "\\n")
        protocol._out.flush()
        os._exit(0)
'''

LEAK = '''
import gc
import sys

from kwont_quant import Signals, Strategy
from kwont_sandbox import protocol


class Leak(Strategy):
    """Puts the sandbox's Mongo URI in a progress line, on stderr and in its error."""

    def generate(self, candles) -> Signals:
        job = next(o for o in gc.get_objects() if type(o).__name__ == "SandboxJob")
        protocol.progress(job.mongo.uri, 0.5)
        print(job.mongo.uri, file=sys.stderr)
        raise RuntimeError("connect with " + job.mongo.uri)
'''


def forged(**body: Any) -> str:
    """A result line as user code can write it (json.dumps allows NaN and Infinity)."""
    return json.dumps({"type": "result", "v": 1, "mode": "backtest", **body})


def password(uri: str) -> str:
    return unquote(urlsplit(uri).netloc.rpartition("@")[0].partition(":")[2])


def run_code(sandbox: Sandbox, market: dict[str, Candles], tmp_path: Path, code: str,
             **kw: Any) -> Any:  # fmt: skip
    path = tmp_path / "up" / "strategy.py"
    path.parent.mkdir(exist_ok=True)
    path.parent.chmod(0o755)
    path.write_text(code)
    path.chmod(0o644)
    return sandbox.run(job_for(sorted(market)[:1], params={}), path, **kw)


def test_a_forged_non_finite_result_fails_with_the_field_named(
    sandbox: Sandbox, market: dict[str, Candles], tmp_path: Path
) -> None:
    metrics = {"sharpe": float("nan"), "total_return": 1e308, "calmar": float("inf")}
    line = forged(strategy="x", params={}, metrics=metrics, final_equity=1e308, trades=[],
                  symbols={}, candles={})  # fmt: skip
    outcome = run_code(sandbox, market, tmp_path, FORGE.format(line=line))
    assert isinstance(outcome, Failed) and outcome.cause == "result", outcome
    assert outcome.reason == "invalid result from the sandbox: metrics.sharpe is not finite"


def test_a_forged_oversized_result_fails_with_the_bound_named(
    sandbox: Sandbox, market: dict[str, Candles], tmp_path: Path
) -> None:
    params = {f"p{i}": "v" * 100 for i in range(20_000)}  # ~2.5 MB, under the output cap
    line = forged(strategy="x", params=params, metrics={}, final_equity=1.0, trades=[],
                  symbols={}, candles={})  # fmt: skip
    outcome = run_code(sandbox, market, tmp_path, FORGE.format(line=line))
    assert isinstance(outcome, Failed) and outcome.cause == "result", outcome
    assert outcome.reason == "invalid result from the sandbox: params has more than 64 items"


def test_the_sandbox_credentials_are_masked_in_errors_and_progress(
    sandbox: Sandbox, market: dict[str, Candles], tmp_path: Path, mongo: MongoEndpoint
) -> None:
    secret = password(mongo.readonly_uri)
    assert len(secret) >= 8
    stages: list[str] = []
    outcome = run_code(sandbox, market, tmp_path, LEAK,
                       on_progress=lambda stage, _f: stages.append(stage))  # fmt: skip
    assert isinstance(outcome, Failed) and outcome.cause == "strategy", outcome
    assert outcome.reason.endswith("RuntimeError: connect with ***"), outcome.reason
    assert "RuntimeError" in outcome.traceback
    for text in (outcome.reason, outcome.traceback, *stages):
        assert secret not in text, text
    assert any("***" in s for s in stages)
