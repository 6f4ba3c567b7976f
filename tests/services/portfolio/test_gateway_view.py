"""What the portfolio service stores is what the gateway serves: the owner sees the position,
balances, PnL and equity curve after fills and a mark; another user sees nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_common.kafka import EventProducer
from kwont_common.testing import candle
from kwont_common.trading.ledger import Ledger
from tests.services.gateway.factories import Server, new_user
from tests.services.portfolio.conftest import T0, fill, make_settings, running, until

pytestmark = pytest.mark.integration
API = "/api/v1"


async def test_the_gateway_shows_the_position_and_equity_curve(gateway: Server) -> None:
    gs = gateway.settings
    settings = make_settings(gs.kafka_bootstrap_servers, gs.mongo_uri, gs.mongo_database)
    owner_id, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    account = f"acct-{owner_id[-6:]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(gs.mongo_uri)
    db = client[gs.mongo_database]
    await db.deployments.insert_one({"account": account, "owner": owner_id, "name": "view"})
    entry = fill(account, "ETHUSDT", "BUY", "0.5", "2000", T0, "1")
    scale = fill(account, "ETHUSDT", "BUY", "0.5", "2100", T0 + 60_000, "1.05")
    mark = candle("ETHUSDT", T0 + 60_000, 2200.0, close=2200.0)
    try:
        async with running(settings):
            producer = EventProducer(settings)
            await producer.start()
            await producer.publish(entry)
            await producer.publish(scale)
            # fills first: a mark that overtakes a fill would fold the fill's curve point
            # into its own (the final state is the same either way)
            await until(lambda: db.portfolios.find_one({"_id": account, "version": 2}))
            await producer.publish(mark)
            await producer.stop()
            await until(lambda: db.portfolios.find_one({"_id": account, "version": 3}))
    finally:
        await client.close()

    oracle = Ledger(cash=Decimal(10_000))
    oracle.apply(entry)
    oracle.apply(scale)
    unrealized = (Decimal(2200) - Decimal(2050)) * 1  # average entry 2050, quantity 1
    async with gateway.client(owner) as c:
        shown = (await c.get(f"{API}/portfolio/{account}")).json()
        curve = (await c.get(f"{API}/portfolio/{account}/equity")).json()
        listed = (await c.get(f"{API}/portfolio")).json()
    assert [p["account"] for p in listed] == [account]
    assert Decimal(shown["equity"]) == oracle.cash + unrealized
    assert Decimal(shown["unrealized_pnl"]) == unrealized
    assert Decimal(shown["fees_paid"]) == Decimal("2.05")
    ((asset, total, locked),) = [(b["asset"], b["total"], b["locked"]) for b in shown["balances"]]
    assert (asset, Decimal(total), Decimal(locked)) == ("USDT", oracle.cash, Decimal(2050))
    (pos,) = shown["positions"]
    position = (pos["symbol"], pos["side"], Decimal(pos["quantity"]), Decimal(pos["average_entry"]))
    assert position == ("ETHUSDT", "LONG", 1, 2050)
    assert pos["correlation_id"] == str(scale.correlation_id)
    assert shown["updated_at"] == mark.close_time
    assert curve["points"] == [
        [T0, 10_000 - 1.0],
        [scale.event_time, float(oracle.cash + (2100 - 2050))],
        [mark.close_time, float(oracle.cash + unrealized)],
    ]
    async with gateway.client(other) as c:
        assert (await c.get(f"{API}/portfolio/{account}")).status_code == 404
