"""The divergence report over a real paper replay (strategy -> risk -> execution (paper) ->
portfolio as real processes on tansu and SecantusDB), against the backtest engine re-run on
the stored candles: first the functions directly, then the divergence job as the
backtest-runner runs it (the re-run in the real sandbox, the report stored in MongoDB).

The pipeline set-up is test_paper_pipeline.py's (loaded from that file, not copied): its
``acct-plain`` deployment trades ``sma_cross`` on the paper venue with 10 bps fees and
5 bps slippage.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import docker
import pytest
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from kwont_backtest_runner.divergence_inputs import FILLS, REJECTIONS, live_events, live_fills
from kwont_backtest_runner.divergence_job import REPORTS
from kwont_backtest_runner.jobs import JobRunner
from kwont_backtest_runner.sandbox import Sandbox
from kwont_backtest_runner.sandbox_net import SandboxNetwork
from kwont_common.backtest_cache import ResultCache
from kwont_common.kafka import EventProducer
from kwont_common.settings import Settings
from kwont_common.trading.accounts import load_account
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_gateway.backtests import new_doc
from kwont_gateway.divergence import build_job
from kwont_gateway.models.divergence import DivergenceCreate
from kwont_quant import BacktestConfig, run_backtest
from kwont_quant.divergence import EXACT, Trade, divergence
from kwont_quant.divergence_trades import from_backtest, round_trips
from tests.services.backtest_runner.conftest import docker_client, sandbox_network  # noqa: F401

pytestmark = pytest.mark.e2e

_spec = importlib.util.spec_from_file_location(
    "paper_pipeline", Path(__file__).with_name("test_paper_pipeline.py")
)
assert _spec and _spec.loader
pp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pp)

ACCOUNT = "acct-plain"
CENT = Decimal("0.01")


def backtest(slippage_bps: float, last_open_ms: int) -> list[Trade]:
    cls, params, _, cfg = pp.ACCOUNTS[ACCOUNT]
    bt = BacktestConfig(cash=float(cfg.cash), fee_bps=cfg.fee_bps, slippage_bps=slippage_bps,
                        leverage=cfg.leverage)  # fmt: skip
    trades = from_backtest(
        run_backtest(cls(**params), pp.history(), bt, start=pp.WARM).trades.to_list(), pp.SYMBOL
    )
    # a position still open after the last candle has no live round trip to compare
    return [t for t in trades if t.exit_time_ms < last_open_ms]


async def run_job(runner: JobRunner, db: Any, start: int, end: int, slippage: float) -> Any:
    """A divergence job of the deployment, built as the gateway builds it, run as the
    runner runs it; its stored report."""
    dep = await db.deployments.find_one({"_id": f"dep-{ACCOUNT}"})
    account = await load_account(db, ACCOUNT)
    job = build_job(dep, account, DivergenceCreate(start=start, end=end, slippage_bps=slippage),
                    "u1")  # fmt: skip
    await db.backtests.insert_one(new_doc(job.job_id, "u1", job.model_dump(mode="json"),
                                          kind="divergence"))  # fmt: skip
    result = await runner.on_job(job)
    assert result is not None and result.status == "succeeded", result
    status = await db.backtests.find_one({"_id": job.job_id})
    assert status["status"] == "succeeded" and status["progress"]["fraction"] == 1.0
    doc = await db[REPORTS].find_one({"_id": job.job_id})
    assert doc["deployment_id"] == f"dep-{ACCOUNT}" and doc["owner"] == "u1"
    return doc["report"]


async def test_paper_replay_matches_its_backtest_and_attributes_a_gap(
    kafka_bootstrap: str, mongo: MongoEndpoint, unique_name: str, tmp_path: Path,
    redis_url: str, sandbox_image: str, docker_client: docker.DockerClient,  # noqa: F811
    sandbox_network: SandboxNetwork,  # noqa: F811
) -> None:  # fmt: skip
    await pp.prepare(mongo, unique_name, kafka_bootstrap)
    p = pp.pipeline(kafka_bootstrap, mongo, unique_name, tmp_path / "run", speed=pp.SPEED)
    try:
        await pp.run_until_done(p, mongo, unique_name, timeout=300)
    finally:
        p.stop_all()
    c = pp.history()
    start, last_open = int(c.open_time_ms[pp.WARM]), int(c.open_time_ms[-1])
    end = last_open + pp.MINUTE
    conn: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db = conn[unique_name]
    try:
        fills = await live_fills(db, ACCOUNT, [pp.SYMBOL], start, end)
        live = round_trips(fills)
        assert len(live) >= 5, f"too few round trips to prove anything: {live}"

        # 1. the backtest with the paper venue's own fill model: every trade matches, no gap
        same = divergence(live, backtest(pp.ACCOUNTS[ACCOUNT][3].slippage_bps, last_open))
        assert same.matched_share == 1, (same.missed, same.extra)
        assert same.total_gap.quantize(CENT) == 0, same.components
        assert all(abs(m.entry_delay_ms) <= pp.MINUTE for m in same.matched)

        # 2. a backtest without slippage, and one live trade refused by risk (its fills left
        # out and the rejection stored as risk stores it)
        ideal = backtest(0.0, last_open)
        dropped = live[len(live) // 2]
        # its fills: those from its entry to its exit, but not the previous trade's closing
        # leg at its entry nor the next trade's opening leg at its exit (a reversal)
        kept = [
            f
            for f in fills
            if not dropped.entry_time_ms <= f.time_ms <= dropped.exit_time_ms
            or (f.time_ms == dropped.entry_time_ms and f.reduce_only)
            or (f.time_ms == dropped.exit_time_ms and not f.reduce_only)
        ]
        await db[REJECTIONS].insert_one(
            {"_id": "injected", "account": ACCOUNT, "symbol": pp.SYMBOL,
             "code": "max_position_notional", "reason": "injected by the test",
             "deployment_id": f"dep-{ACCOUNT}", "event_time": dropped.entry_time_ms, "owner": "u1"}
        )  # fmt: skip
        events = await live_events(db, f"dep-{ACCOUNT}", start, end)
        report = divergence(round_trips(kept), ideal, events)
        check_attribution(report)

        # 3. the same two comparisons as divergence jobs of the backtest-runner: the re-run
        # in the sandbox on the stored candles, the live side read from MongoDB
        sandbox = Sandbox(docker_client, sandbox_network, mongo.readonly_uri,
                          image=sandbox_image, ohlcv_db=f"{unique_name}_md")  # fmt: skip
        settings = Settings(service_name="backtest-runner", kafka_bootstrap_servers=kafka_bootstrap,
                            kafka_idempotence=False, topic_prefix=f"{unique_name}.")  # fmt: skip
        producer, redis = EventProducer(settings), Redis.from_url(redis_url)
        await producer.start()
        try:
            runner = JobRunner(db, ResultCache(redis, 60), sandbox, producer, "e2e-runner")
            await db[REJECTIONS].delete_one({"_id": "injected"})
            await check_stored_job(runner, db, start, end, fills, kept, dropped)
        finally:
            await producer.stop()
            await redis.aclose()
    finally:
        await conn.close()


async def check_stored_job(
    runner: JobRunner, db: Any, start: int, end: int, fills: list[Any], kept: list[Any],
    dropped: Trade,
) -> None:  # fmt: skip
    same = await run_job(runner, db, start, end, pp.ACCOUNTS[ACCOUNT][3].slippage_bps)
    summary = same["summary"]
    assert (summary["matched_share"], summary["missed"], summary["extra"]) == ("1", 0, 0), summary
    assert summary["matched"] == len(round_trips(fills))
    assert Decimal(summary["total_gap_cents"]) == 0, summary
    # stage the known divergence in the store: the dropped trade's fills gone, its refusal
    # stored as risk stores it
    gone = [f for f in fills if f not in kept]
    assert gone
    for f in gone:
        leg = True if f.reduce_only else {"$ne": True}
        query = {"account": ACCOUNT, "event_time": f.time_ms, "reduce_only": leg}
        deleted = await db[FILLS].delete_many(query)
        assert deleted.deleted_count >= 1
    await db[REJECTIONS].insert_one(
        {"_id": "staged", "account": ACCOUNT, "symbol": pp.SYMBOL, "code": "max_position_notional",
         "reason": "staged by the test", "deployment_id": f"dep-{ACCOUNT}",
         "event_time": dropped.entry_time_ms, "owner": "u1"}
    )  # fmt: skip
    report = await run_job(runner, db, start, end, 0.0)
    summary = report["summary"]
    assert (summary["missed"], summary["extra"]) == (1, 0), summary
    missed = report["missed"][0]
    assert missed["reason"] == "risk_rejection" and "staged" in missed["detail"], missed
    assert abs(missed["trade"]["entry_time_ms"] - dropped.entry_time_ms) <= pp.MINUTE, missed
    parts = {k: Decimal(v) for k, v in summary["components"].items()}
    assert parts["slippage"] < 0 and parts["funding"] == 0
    with localcontext(EXACT):  # (unary minus rounds to the context's precision too)
        assert parts["missed"] == Decimal(missed["pnl_gap"]) == -Decimal(missed["trade"]["pnl"])
        assert sum(parts.values(), Decimal(0)) == Decimal(summary["total_gap"])
    cents = [Decimal(v) for v in summary["components_cents"].values()]
    assert sum(cents, Decimal(0)) == Decimal(summary["total_gap_cents"])


def check_attribution(report: Any) -> None:
    assert len(report.missed) == 1 and report.missed[0].reason == "risk_rejection"
    assert report.extra == []
    assert report.components["slippage"] < 0  # paper filled 5 bps worse on every side
    assert report.components["funding"] == 0
    with localcontext(EXACT):
        assert report.components["missed"] == -report.missed[0].trade.pnl
        assert sum(report.components.values(), Decimal(0)) == report.total_gap
    cents = report.summary_cents()
    assert sum(cents.values(), Decimal(0)) == report.total_gap.quantize(CENT)
