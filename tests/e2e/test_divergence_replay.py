"""The divergence report over a real paper replay (strategy -> risk -> execution (paper) ->
portfolio as real processes on tansu and SecantusDB), against the backtest engine re-run on
the stored candles.

The pipeline set-up is test_paper_pipeline.py's (loaded from that file, not copied): its
``acct-plain`` deployment trades ``sma_cross`` on the paper venue with 10 bps fees and
5 bps slippage.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_backtest_runner.divergence_inputs import REJECTIONS, live_events, live_fills
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant import BacktestConfig, run_backtest
from kwont_quant.divergence import EXACT, Trade, divergence
from kwont_quant.divergence_trades import from_backtest, round_trips

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


async def test_paper_replay_matches_its_backtest_and_attributes_a_gap(
    kafka_bootstrap: str, mongo: MongoEndpoint, unique_name: str, tmp_path: Path
) -> None:
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
    finally:
        await conn.close()
    report = divergence(round_trips(kept), ideal, events)
    assert len(report.missed) == 1 and report.missed[0].reason == "risk_rejection"
    assert report.extra == []
    assert report.components["slippage"] < 0  # paper filled 5 bps worse on every side
    assert report.components["funding"] == 0
    with localcontext(EXACT):
        assert report.components["missed"] == -report.missed[0].trade.pnl
        assert sum(report.components.values(), Decimal(0)) == report.total_gap
    cents = report.summary_cents()
    assert sum(cents.values(), Decimal(0)) == report.total_gap.quantize(CENT)
