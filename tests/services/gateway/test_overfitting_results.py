"""The research figures in API results: a backtest's Monte Carlo bands (REST and GraphQL) and
a finished grid search's overfitting guards, stored as the runner stores them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kwont_backtest_runner.results import result_document
from kwont_common.events import BacktestJob
from kwont_common.mongo import Database
from kwont_quant import BacktestConfig, run_backtest
from kwont_quant.montecarlo import monte_carlo_of
from kwont_quant.optimize import evaluate, search_guards
from kwont_quant.synthetic import gbm_ohlcv
from tests.services.gateway.factories import JAN_2024, Server, backtest_body, new_user

pytestmark = pytest.mark.integration
API = "/api/v1"


async def test_a_backtest_result_carries_its_monte_carlo_bands(
    gateway: Server, db: Database
) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        job_id = (await c.post(f"{API}/backtests", json=backtest_body())).json()["job_id"]
    run = run_backtest("sma_cross", gbm_ohlcv(3000, seed=4), params={"fast": 5, "slow": 20})
    mc = monte_carlo_of(run)
    assert mc is not None
    job = BacktestJob.model_validate((await db.backtests.find_one({"_id": job_id}))["job"])
    times = JAN_2024 + np.arange(100, dtype=np.int64) * 60_000
    result = {
        "metrics": {"sharpe": 1.5},
        "final_equity": run.final_equity,
        "equity_curve": {"open_time_ms": times, "equity": np.linspace(1e4, 1.1e4, 100)},
        "monte_carlo": mc.to_dict(),
    }
    await db.backtest_results.insert_one(result_document(job, result, "d" * 64, 12, False))
    await db.backtests.update_one({"_id": job_id}, {"$set": {"status": "succeeded"}})
    async with gateway.client(headers) as c:
        got = (await c.get(f"{API}/backtests/{job_id}/result")).json()
        assert got["monte_carlo"] == mc.to_dict()
        query = "query($id: ID!) { backtest(id: $id) { result { monteCarlo } } }"
        r = await c.post("/graphql", json={"query": query, "variables": {"id": job_id}})
        assert r.json()["data"]["backtest"]["result"]["monteCarlo"] == mc.to_dict(), r.text


async def test_a_finished_grid_shows_the_guards_of_its_winner(
    gateway: Server, db: Database
) -> None:
    user_id, headers = await new_user(gateway)
    body = backtest_body(params={})
    body.update(grid={"fast": [5, 10, 15], "slow": [30, 60]})
    candles, config = gbm_ohlcv(3000, seed=8), BacktestConfig(fee_bps=10)
    async with gateway.client(headers) as c:
        acc = (await c.post(f"{API}/optimizations", json=body)).json()
        opt_id, (shard,) = acc["optimization_id"], acc["job_ids"]
        sets = (await db.backtests.find_one({"_id": shard}))["job"]["param_sets"]
        evals = evaluate("sma_cross", sets, candles, config)
        rows: list[dict[str, Any]] = [
            dict(e.to_dict(), index=i, moments=e.moments.tolist())  # type: ignore[union-attr]
            for i, e in enumerate(evals)
        ]
        await db.backtest_results.insert_one({"_id": shard, "owner": user_id, "ranking": rows})
        running = (await c.get(f"{API}/optimizations/{opt_id}")).json()
        assert running["guards"] is None  # the shard is not marked succeeded yet
        await db.backtests.update_one({"_id": shard}, {"$set": {"status": "succeeded"}})
        shown = (await c.get(f"{API}/optimizations/{opt_id}")).json()
    ranked = sorted(evals, key=lambda e: -(e.score if e.score == e.score else -1e300))
    want = search_guards(ranked)
    assert want is not None and shown["guards"] == want.to_dict()
    assert shown["guards"]["n_trials"] == 6
    assert (await db.optimizations.find_one({"_id": opt_id}))["guards"] == want.to_dict()
