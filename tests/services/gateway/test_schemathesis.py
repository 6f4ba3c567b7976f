"""Property-based testing of the live OpenAPI schema with schemathesis: no 5xx and no
response that violates the schema, for a logged-in trader. Bounded to stay well under a
minute (``MAX_EXAMPLES`` per operation, fixed seed)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.services.gateway.factories import Server, backtest_body, new_user

pytestmark = pytest.mark.integration
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 15
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


async def test_the_live_schema_holds_under_generated_requests(
    gateway: Server, tmp_path: Path
) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:  # something of theirs to find
        assert (await c.post("/api/v1/backtests", json=backtest_body())).status_code == 202
        await c.post("/api/v1/strategies", json={"name": "s", "code": "x = 1"})
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{gateway.base_url}/openapi.json",
        "--header",
        f"Authorization: {headers['Authorization']}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "42",
        "--request-timeout",
        "10",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=170)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
