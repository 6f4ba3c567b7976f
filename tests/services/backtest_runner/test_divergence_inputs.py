"""The live side of a divergence report read back from a real SecantusDB: fills as
execution stores them, rejections as risk stores them, then the report over them."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_backtest_runner.divergence_inputs import FILLS, REJECTIONS, live_events, live_fills
from kwont_common.events.fills import Fill
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant.divergence import Trade, divergence
from kwont_quant.divergence_trades import round_trips

pytestmark = pytest.mark.integration
D = Decimal
MIN = 60_000


def fill(
    symbol: str, side: str, qty: str, price: str, t: int, fee: str, account: str = "acc"
) -> dict[str, Any]:
    event = Fill(
        event_time=t, source="execution", account=account, symbol=symbol,
        correlation_id=uuid.uuid4(), client_order_id=f"c{t}", venue="paper",
        trade_id=f"paper-{symbol}-{t}", side=side,  # type: ignore[arg-type]
        quantity=D(qty), price=D(price), fee=D(fee),
    )  # fmt: skip
    return {"_id": f"paper:{event.trade_id}", **event.model_dump(mode="json"), "owner": "u"}


async def test_stored_fills_and_rejection_explain_the_gap(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db = client[mongo_db]
    try:
        await db[FILLS].insert_many(
            [
                fill("BTCUSDT", "BUY", "0.5", "100.10", 10 * MIN, "0.05"),
                fill("BTCUSDT", "SELL", "0.5", "109.90", 20 * MIN, "0.05"),
                fill("BTCUSDT", "BUY", "9", "1", 90 * MIN, "0", account="other"),
                fill("BTCUSDT", "BUY", "1", "100", 500 * MIN, "0"),  # after the range
            ]
        )
        await db[REJECTIONS].insert_one(
            {"_id": "r1", "account": "acc", "symbol": "BTCUSDT", "code": "max_position_notional",
             "reason": "too big", "deployment_id": "dep-1", "event_time": 40 * MIN, "owner": "u"}
        )  # fmt: skip
        fills = await live_fills(db, "acc", ["BTCUSDT"], 0, 100 * MIN)
        assert [(f.side, f.price) for f in fills] == [("BUY", D("100.10")), ("SELL", D("109.90"))]
        events = await live_events(db, "dep-1", 0, 100 * MIN)
        assert [(e.kind, e.time_ms) for e in events] == [("risk_rejection", 40 * MIN)]
        assert await live_events(db, "dep-2", 0, 100 * MIN) == []
    finally:
        await client.close()

    backtest = [
        Trade("BTCUSDT", "long", 10 * MIN, 20 * MIN, D(100), D(110), D("0.5"), D("0.1")),
        Trade("BTCUSDT", "long", 40 * MIN, 50 * MIN, D(100), D(104), D("0.5"), D("0.1")),
    ]
    report = divergence(round_trips(fills), backtest, events)
    assert report.components["slippage"] == D("-0.10")  # 0.10 worse on each side, 0.5 units
    assert report.components["missed"] == D("-1.9")
    assert report.missed[0].reason == "risk_rejection"
    assert report.total_gap == D("-2.00")


async def test_an_empty_range_is_refused(mongo: MongoEndpoint, mongo_db: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    try:
        with pytest.raises(ValueError, match="range is empty"):
            await live_fills(client[mongo_db], "acc", ["BTCUSDT"], 5, 5)
    finally:
        await client.close()
