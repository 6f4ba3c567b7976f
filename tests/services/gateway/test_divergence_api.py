"""Divergence jobs over REST and the ``kwont divergence`` command against the real gateway:
the job is stored and published with the deployment's strategy and the account's fill model,
owner checks and bad input answer 4xx with a message, and a report the runner stored (played
here through the database, as the other gateway tests do) is served and summarised."""

from __future__ import annotations

import asyncio
import sys
import uuid
from decimal import Decimal
from typing import Any

import pytest

from kwont_common.mongo import Database
from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_quant.divergence import Event, Trade, divergence
from kwont_quant.divergence_json import report_json
from tests.services.gateway.factories import Server, new_user
from tests.services.gateway.test_backtests import published_job

pytestmark = pytest.mark.integration
API = "/api/v1"
DAY = 86_400_000
JAN_2 = 1_704_153_600_000
HOUR = 3_600_000


async def deployment(gw: Server, headers: dict[str, str], db: Database) -> dict[str, Any]:
    account = f"paper-{uuid.uuid4().hex[:6]}"
    await save_account(db, AccountConfig(account=account, cash=Decimal(5000), fee_bps=7,
                                         slippage_bps=3, leverage=2))  # fmt: skip
    body = {"account": account, "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
            "symbols": ["BTCUSDT"], "interval": "1h"}  # fmt: skip
    async with gw.client(headers) as c:
        r = await c.post(f"{API}/deployments", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def staged_report() -> Any:
    """Two backtest trades, one live (2 worse on the entry), the other refused by risk."""

    def t(entry: int, px: str, exit_px: str) -> Trade:
        return Trade("BTCUSDT", "long", entry, entry + 3 * HOUR, Decimal(px), Decimal(exit_px),
                     Decimal("0.1"), Decimal("0.5"))  # fmt: skip

    backtest = [t(JAN_2, "100", "110"), t(JAN_2 + DAY, "120", "115")]
    live = [t(JAN_2 + HOUR - 1, "102", "110")]
    events = [Event(JAN_2 + DAY, "risk_rejection", "max_open_positions: 1 open", "BTCUSDT")]
    return divergence(live, backtest, events, tolerance_ms=HOUR)


async def play_runner(db: Database, job_id: str, report: Any) -> None:
    doc = await db.backtests.find_one({"_id": job_id})
    assert doc is not None
    await db.backtests.update_one(
        {"_id": job_id}, {"$set": {"status": "running", "progress": {"stage": "running",
                                                                     "fraction": 0.5}}}
    )  # fmt: skip
    await asyncio.sleep(1.2)
    await db.divergence_reports.insert_one(
        {"_id": job_id, "owner": doc["owner"], "report": report_json(report)}
    )
    await db.backtests.update_one(
        {"_id": job_id},
        {"$set": {"status": "succeeded", "progress": {"stage": "done", "fraction": 1.0}}},
    )


async def test_a_divergence_job_is_queued_owned_and_served(gateway: Server, db: Database) -> None:
    user_id, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    dep = await deployment(gateway, owner, db)
    path = f"{API}/deployments/{dep['id']}/divergence"
    body = {"start": "2024-01-02T00:00:00Z", "end": JAN_2 + 3 * DAY}
    async with gateway.client(owner) as c:
        r = await c.post(path, json=body)
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        assert r.json()["links"]["self"] == f"{path}/{job_id}"
        bad = await c.post(path, json={**body, "end": "2024-01-01T00:00:00Z"})
        assert bad.status_code == 422 and "end must be after start" in bad.text, bad.text
        garbage = await c.post(path, json={**body, "start": "yesterday"})
        assert garbage.status_code == 422 and "ISO-8601" in garbage.text, garbage.text
        missing = await c.post(f"{API}/deployments/dep_nope/divergence", json=body)
        assert missing.status_code == 404 and "dep_nope" in missing.text
        queued = (await c.get(f"{path}/{job_id}")).json()
        assert queued["status"] == "queued" and queued["report"] is None
        listed = (await c.get(f"{API}/backtests")).json()
        assert job_id not in [b["id"] for b in listed["items"]]  # not a backtest of the list
    job = await published_job(gateway, job_id)
    assert (job.kind, job.deployment_id, job.account, job.owner) == (
        "divergence", dep["id"], dep["account"], user_id)  # fmt: skip
    assert (job.cash, job.fee_bps, job.slippage_bps, job.leverage) == (Decimal(5000), 7, 0, 2)
    assert job.strategy.name == "sma_cross" and job.params == {"fast": 5, "slow": 20}
    assert job.warmup_bars >= 20 and job.start_time == JAN_2 and job.interval == "1h"
    async with gateway.client(other) as c:
        assert (await c.post(path, json=body)).status_code == 404
        assert (await c.get(f"{path}/{job_id}")).status_code == 404
        assert (await c.get(path)).status_code == 404
    report = staged_report()
    await play_runner(db, job_id, report)
    async with gateway.client(owner) as c:
        done = (await c.get(f"{path}/{job_id}")).json()
        assert [j["id"] for j in (await c.get(path)).json()] == [job_id]
    assert done["status"] == "succeeded" and done["report"] == report_json(report)
    assert done["report"]["summary"]["missed"] == 1


async def kwont(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kwont_quant.cli", "divergence", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_cli_follows_a_job_to_its_summary(gateway: Server, db: Database) -> None:
    _, owner = await new_user(gateway)
    dep = await deployment(gateway, owner, db)
    token = owner["Authorization"].split()[1]
    common = ["--from", "2024-01-02T00:00:00Z", "--to", str(JAN_2 + 3 * DAY),
              "--api", gateway.base_url, "--token", token]  # fmt: skip
    cli = asyncio.create_task(kwont(dep["id"], *common))
    async with asyncio.timeout(30):
        while (doc := await db.backtests.find_one({"job.deployment_id": dep["id"]})) is None:
            await asyncio.sleep(0.1)
    report = staged_report()
    await play_runner(db, doc["_id"], report)
    code, out, err = await cli
    assert code == 0, err
    assert "running" in err and "100%" in err  # the progress bar
    assert "matched 1 of 2 trades (50.00 %); missed 1 (backtest only), extra 0" in out, out
    cents = report.summary_cents()
    assert f"gap      {report.total_gap.quantize(Decimal('0.01')):>14,.2f}" in out, out
    assert f"  slippage {cents['slippage']:>14,.2f}" in out and cents["slippage"] != 0, out
    assert f"  missed   {cents['missed']:>14,.2f}" in out, out
    assert "reason: risk_rejection (max_open_positions: 1 open)" in out, out

    code, _, err = await kwont("dep_nope", *common)
    assert code == 2 and "404 deployment 'dep_nope' not found" in err, err
    code, _, err = await kwont(dep["id"], "--from", "2024-01-05", "--to", "2024-01-02",
                               "--api", gateway.base_url, "--token", token)  # fmt: skip
    assert code == 2 and "422 end must be after start" in err, err


SUBMIT = """mutation ($dep: ID!, $start: String!, $end: String!) {
  submitDivergence(deploymentId: $dep, input: {start: $start, end: $end, feeBps: 4}) {
    id deploymentId status feeBps slippageBps warmupBars report } }"""
READ = """query ($dep: ID!, $id: ID!) {
  divergenceJob(deploymentId: $dep, id: $id) { id status report }
  divergenceJobs(deploymentId: $dep) { id } }"""


async def test_graphql_submits_and_reads_with_the_same_checks(
    gateway: Server, db: Database
) -> None:
    from tests.services.gateway.test_graphql import gql_post

    _, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    dep = await deployment(gateway, owner, db)
    got = await gql_post(gateway, owner, SUBMIT, dep=dep["id"], start="2024-01-02",
                         end="2024-01-05")  # fmt: skip
    job = got["data"]["submitDivergence"]
    assert (job["deploymentId"], job["status"], job["feeBps"], job["slippageBps"]) == (
        dep["id"], "queued", 4.0, 0.0)  # fmt: skip
    assert job["report"] is None and job["warmupBars"] >= 20
    bad = await gql_post(gateway, owner, SUBMIT, dep=dep["id"], start="2024-01-05",
                         end="2024-01-02")  # fmt: skip
    assert bad["errors"][0]["extensions"]["code"] == "invalid_request"
    assert "end must be after start" in bad["errors"][0]["message"]
    foreign = await gql_post(gateway, other, READ, dep=dep["id"], id=job["id"])
    assert foreign["errors"][0]["extensions"]["code"] == "not_found"
    report = staged_report()
    await play_runner(db, job["id"], report)
    read = (await gql_post(gateway, owner, READ, dep=dep["id"], id=job["id"]))["data"]
    assert read["divergenceJob"]["status"] == "succeeded"
    assert read["divergenceJob"]["report"] == report_json(report)
    assert read["divergenceJobs"] == [{"id": job["id"]}]
