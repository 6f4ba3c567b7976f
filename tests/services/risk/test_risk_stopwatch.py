"""StopWatch (kwont_risk.stops) on real SecantusDB: the prediction made from candles read
beside the book (prefetch) is the one made from a fresh read, whatever range the prefetch
covered, and an entry this replica sent needs no stored order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from pymongo import AsyncMongoClient

import kwont_ohlcv as ohlcv
from kwont_common.events import Order
from kwont_common.trading.ledger import PositionBook
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_marketdata import store as candle_store
from kwont_risk.stops import Exit, Prefetched, StopWatch

pytestmark = pytest.mark.integration
T0 = 1_704_067_200_000
MIN = 60_000


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    try:
        yield client[mongo_db]
    finally:
        await client.close()


def entry() -> Order:
    """A paper long entered on the candle at T0 with a 5 % stop."""
    sid = uuid.uuid4()
    return Order(
        event_time=T0 + MIN - 1, source="risk", account="acct", symbol="BTCUSDT",
        correlation_id=sid, client_order_id=f"ke-{sid.hex}", signal_id=sid, venue="paper",
        side="BUY", quantity=Decimal(1), reference_price=100.0, interval="1m",
        candle_open_time=T0, stop_loss_pct=0.05,
    )  # fmt: skip


async def store(db: Any, *bars: tuple[int, float, float, float]) -> None:
    """Candles ``(k, open, high, low)`` at T0 + k minutes into the market-data store."""
    rows = [(T0 + k * MIN, o, h, lo, o, 1.0, o, 1.0) for k, o, h, lo in bars]
    columns = zip(*rows, strict=True)
    cols = {n: np.array(c, dtype=np.float64) for n, c in zip(ohlcv.COLUMNS, columns, strict=True)}
    await candle_store.upsert(db, "BTCUSDT", "1m", cols, feed="synthetic")


def position(order: Order) -> PositionBook:
    return PositionBook(1, order.quantity, Decimal(100), correlation_id=str(order.correlation_id))


async def predict(watch: StopWatch, order: Order, k: int, prefetch: bool) -> Exit | None:
    """The exit expected by the signal of the candle at T0 + k minutes."""
    through = T0 + k * MIN
    bars = await watch.prefetch("acct", "BTCUSDT", through) if prefetch else None
    return await watch.expected_exit("acct", "BTCUSDT", position(order), through, 0.004, 0.0, bars)


async def test_prefetched_candles_predict_what_a_fresh_read_predicts(db: Any) -> None:
    order = entry()
    await db["risk_orders"].insert_one({"_id": order.client_order_id,
                                        "order": order.model_dump(mode="json")})  # fmt: skip
    await store(db, (1, 100, 101, 97), (2, 99, 100, 96), (3, 97, 98, 94), (4, 95, 96, 93))
    fresh, ahead = StopWatch(db, db), StopWatch(db, db)
    ahead.remember(order)  # the prefetch starts after the entry's candle
    for k in (1, 2, 3, 4):
        assert await predict(ahead, order, k, prefetch=True) == await predict(
            fresh, order, k, prefetch=False
        )
    # the stop (95) is crossed on the candle at T0 + 3m, at the stop (no slippage here)
    assert await predict(fresh, order, 3, prefetch=False) == Exit(T0 + 3 * MIN, 95.0, "stop_loss")
    # a prefetch that starts later than the check needs is not used: the watch reads
    late, after = StopWatch(db, db), Prefetched("1m", T0 + 3 * MIN + 1, T0 + 3 * MIN, [])
    assert await late.expected_exit(
        "acct", "BTCUSDT", position(order), T0 + 3 * MIN, 0.004, 0.0, after
    ) == Exit(T0 + 3 * MIN, 95.0, "stop_loss")
    assert await StopWatch(db, db).prefetch("acct", "BTCUSDT", T0 + MIN) is None  # unknown


async def test_an_entry_sent_by_this_replica_needs_no_stored_order(db: Any) -> None:
    order = entry()  # never stored in risk_orders
    await store(db, (1, 99, 100, 94))
    assert await predict(StopWatch(db, db), order, 1, prefetch=False) is None  # not known
    watch = StopWatch(db, db)
    watch.remember(order)
    assert await predict(watch, order, 1, prefetch=True) == Exit(T0 + MIN, 95.0, "stop_loss")
