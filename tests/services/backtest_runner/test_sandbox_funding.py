"""A job with funding on: the sandbox reads the symbol's stored funding (``ohlcv.funding``,
read-only user) and pays it, exactly as kwont_quant does in-process; with none stored the
job fails saying how to load it."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from pymongo import MongoClient

from kwont_backtest_runner.outcomes import Failed, Succeeded
from kwont_backtest_runner.sandbox import Sandbox
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_ohlcv import funding as store
from kwont_quant import BacktestConfig, FundingRates, run_backtest
from kwont_quant.optimize import evaluate
from kwont_quant.synthetic import gbm_ohlcv
from kwont_quant.walkforward import walk_forward
from tests.services.backtest_runner.conftest import (
    DAY_MS,
    N_CANDLES,
    START_MS,
    insert_candles,
    job_for,
)

pytestmark = pytest.mark.integration
EIGHT_H = 8 * 3_600_000


def _insert_funding(app_uri: str, symbol: str, rows: FundingRates) -> None:
    cols = store.columns(rows.times, rows.rates, rows.marks)
    docs = [store.pack(symbol, part) for _, part in store.split_by_year(cols)]
    with MongoClient(app_uri, serverSelectionTimeoutMS=5000) as client:
        coll = client["ohlcv"][store.COLLECTION]
        coll.create_index(store.INDEX_KEYS, unique=True, name=store.INDEX_NAME)
        coll.insert_many(docs)


def test_funding_on_pays_the_stored_rows(sandbox: Sandbox, mongo: MongoEndpoint) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    symbol, bare = f"F{tag}A", f"F{tag}B"
    candles = gbm_ohlcv(N_CANDLES, seed=7, start_ms=START_MS)
    insert_candles(mongo.app_uri, symbol, candles)
    insert_candles(mongo.app_uri, bare, candles)
    times = np.arange(START_MS, START_MS + 3 * DAY_MS, EIGHT_H, dtype=np.int64)
    rates = np.array([0.0004, -0.0003, 0.0002] * 3)
    marks = candles.open[(times - START_MS) // 60_000]
    marks[4] = np.nan  # the source had none: the last closed candle's close is used
    rows = FundingRates(times, rates, marks)
    _insert_funding(mongo.app_uri, symbol, rows)

    params = {"fast": 10, "slow": 40}
    outcome = sandbox.run(job_for([symbol], funding=True))
    assert isinstance(outcome, Succeeded), outcome
    cfg = BacktestConfig(cash=10_000.0, fee_bps=10.0, interval_ms=60_000)
    want = run_backtest("sma_cross", {symbol: candles}, cfg, params, funding={symbol: rows})
    got = outcome.result
    assert want.metrics.funding_paid != 0.0
    assert got["metrics"] == want.metrics.to_dict()
    assert got["metrics"]["funding_paid"] == want.metrics.funding_paid
    assert got["trades"] == want.per_symbol[symbol].trades.to_list()
    assert any(t["funding"] != 0.0 for t in got["trades"])
    plain = sandbox.run(job_for([symbol]))  # the switch is off by default: nothing paid
    assert isinstance(plain, Succeeded), plain
    assert plain.result["metrics"]["funding_paid"] == 0.0
    assert "funding" not in plain.result["trades"][0]

    sets = [{"fast": 5, "slow": 30}, {"fast": 10, "slow": 40}]
    shard = sandbox.run(job_for([symbol], kind="optimization_shard", param_sets=sets, funding=True))
    assert isinstance(shard, Succeeded), shard
    evals = evaluate("sma_cross", sets, {symbol: candles}, cfg, funding={symbol: rows})
    paid = {tuple(sorted(e.params.items())): e.metrics.funding_paid for e in evals}
    assert {
        tuple(sorted(r["params"].items())): r["metrics"]["funding_paid"]
        for r in shard.result["rankings"]
    } == paid

    grid = {"fast": [5, 10], "slow": [30, 40]}
    walk = {"grid": grid, "windows": 2, "in_sample": 0.75}
    wf = sandbox.run(job_for([symbol], walk_forward=walk, funding=True))
    assert isinstance(wf, Succeeded), wf
    want_wf = walk_forward("sma_cross", grid, candles, cfg, 2, 0.75, funding=rows)
    assert wf.result["walk_forward"] == want_wf.to_dict()
    assert want_wf.windows[0].out_of_sample.metrics.funding_paid != 0.0

    missing = sandbox.run(job_for([bare], funding=True))
    assert isinstance(missing, Failed), missing
    assert f"no funding rates are stored for {bare}" in missing.reason
    assert "kwont-marketdata funding load" in missing.reason
