"""Symbols, deployments, portfolio, orders, fills and performance analysis."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal

import pytest
import websockets

from kwont_common import testing
from kwont_common.events import Fill
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from kwont_risk.state import KillSwitch, utc_day
from tests.services.gateway.factories import Server, new_user, portfolio_doc

pytestmark = pytest.mark.integration
API = "/api/v1"


async def test_symbols_are_filtered_and_only_admins_edit_them(gateway: Server) -> None:
    _, trader = await new_user(gateway)
    async with gateway.client(trader) as c:
        usdt = (
            await c.get(f"{API}/symbols", params={"quote_asset": "USDT", "status": "TRADING"})
        ).json()
        assert [s["symbol"] for s in usdt] == ["BTCUSDT", "ETHUSDT"]
        big = (await c.get(f"{API}/symbols", params={"min_market_cap": 1e12})).json()
        assert [s["symbol"] for s in big] == ["BTCUSDT"]
        liquid = (await c.get(f"{API}/symbols", params={"min_volume_24h": 2e9})).json()
        assert {s["symbol"] for s in liquid} == {"BTCUSDT", "ETHUSDT"}
        assert (await c.get(f"{API}/symbols/ethbtc")).json()["quote_asset"] == "BTC"
        assert (await c.get(f"{API}/symbols/NOPE")).status_code == 404
        assert (await c.patch(f"{API}/symbols/ETHBTC", json={"tags": ["x"]})).status_code == 403
    async with gateway.client(gateway.admin_headers) as c:
        r = await c.patch(
            f"{API}/symbols/ETHBTC", json={"tags": ["layer-1"], "description": "Ether"}
        )
        assert r.status_code == 200 and r.json()["tags"] == ["layer-1"]
        assert r.json()["volume_24h"] == 1e8  # untouched


async def test_deployments_are_created_listed_and_stopped(gateway: Server) -> None:
    _, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    account = f"paper-{uuid.uuid4().hex[:6]}"
    body = {"account": account, "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
            "symbols": ["BTCUSDT"], "interval": "1h"}  # fmt: skip
    async with gateway.client(owner) as c:
        r = await c.post(f"{API}/deployments", json=body)
        assert r.status_code == 201, r.text
        dep = r.json()
        assert dep["status"] == "running" and dep["venue"] == "paper"
        bad = await c.post(f"{API}/deployments", json={**body, "symbols": ["ZZZUSDT"]})
        assert bad.status_code == 422 and "ZZZUSDT" in bad.json()["error"]["message"]
    async with gateway.client(other) as c:
        assert (await c.post(f"{API}/deployments", json=body)).status_code == 409
        assert (await c.get(f"{API}/deployments/{dep['id']}")).status_code == 404
        assert (await c.post(f"{API}/deployments/{dep['id']}/stop")).status_code == 404
        assert (await c.get(f"{API}/deployments")).json() == []
    async with gateway.client(owner) as c:
        stopped = (await c.post(f"{API}/deployments/{dep['id']}/stop")).json()
        assert stopped["status"] == "stopped"
        assert [d["id"] for d in (await c.get(f"{API}/deployments")).json()] == [dep["id"]]


async def test_portfolio_orders_fills_and_performance(gateway: Server, db: Database) -> None:
    owner_id, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    account = f"acct-{uuid.uuid4().hex[:6]}"
    await db.portfolios.insert_one(portfolio_doc(account, owner_id))
    fill = testing.sample_events()["fills"].model_dump(mode="json")
    await db.fills.insert_one({**fill, "account": account, "owner": owner_id})
    order = testing.sample_events()["order-updates"].model_dump(mode="json")
    await db.orders.insert_one({**order, "account": account, "owner": owner_id})
    async with gateway.client(owner) as c:
        (shown,) = (await c.get(f"{API}/portfolio")).json()
        assert shown["account"] == account and shown["equity"] == "10500.5"
        assert shown["positions"][0]["symbol"] == "BTCUSDT"
        curve = (await c.get(f"{API}/portfolio/{account}/equity", params={"points": 10})).json()
        assert len(curve["points"]) == 10
        perf = (await c.get(f"{API}/analysis/performance", params={"account": account})).json()
        assert perf["points"] == 30 and perf["max_drawdown"] > 0.1 and perf["sharpe"] is not None
        half = await c.get(
            f"{API}/analysis/performance",
            params={"account": account, "start": "2024-01-01", "end": "2024-01-10"},
        )
        assert half.json()["points"] == 9 and half.json()["max_drawdown"] == 0
        fills = (await c.get(f"{API}/fills", params={"account": account})).json()
        assert fills[0]["trade_id"] == fill["trade_id"] and "owner" not in fills[0]
        assert len((await c.get(f"{API}/orders", params={"symbol": order["symbol"]})).json()) == 1
    async with gateway.client(other) as c:
        assert (await c.get(f"{API}/portfolio")).json() == []
        assert (await c.get(f"{API}/portfolio/{account}")).status_code == 404
        assert (
            await c.get(f"{API}/analysis/performance", params={"account": account})
        ).status_code == 404
        assert (await c.get(f"{API}/fills", params={"account": account})).json() == []


async def test_fills_of_ones_account_are_pushed_over_the_websocket(
    gateway: Server, db: Database, producer: EventProducer
) -> None:
    owner_id, owner = await new_user(gateway)
    account = f"acct-{uuid.uuid4().hex[:6]}"
    await db.portfolios.insert_one(portfolio_doc(account, owner_id))
    async with websockets.connect(f"{gateway.ws_url}/ws", additional_headers=owner) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channel": "fills", "account": account}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        await ws.send(
            json.dumps(
                {"op": "subscribe", "channel": "candles", "symbol": "btcusdt", "interval": "1m"}
            )
        )
        assert json.loads(await ws.recv())["key"] == "BTCUSDT:1m"
        sample = testing.sample_events()["fills"]
        assert isinstance(sample, Fill)
        await producer.publish(
            sample.model_copy(update={"account": account, "quantity": Decimal("2")})
        )
        await producer.publish(testing.candle())
        got = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]
        by_channel = {m["channel"]: m for m in got}
        assert by_channel["fills"]["data"]["account"] == account
        assert by_channel["fills"]["data"]["quantity"] == "2"
        assert by_channel["candles"]["data"]["symbol"] == "BTCUSDT"


async def test_a_portfolio_shows_its_kill_switch_as_risk_keeps_it(
    gateway: Server, db: Database
) -> None:
    owner_id, owner = await new_user(gateway)
    account = f"ks-{uuid.uuid4().hex[:6]}"
    await db.portfolios.insert_one(portfolio_doc(account, owner_id))
    async with gateway.client(owner) as c:
        calm = (await c.get(f"{API}/portfolio/{account}")).json()["kill_switch"]
        assert calm == {
            "tripped": False,
            "active": False,
            "code": None,
            "reason": None,
            "since": None,
        }
        now = int(time.time() * 1000)
        for since, active in ((now, True), (now - 2 * 86_400_000, False)):  # today, a past day
            switch = KillSwitch(True, "max_daily_loss", "daily loss 6% > 5%", since, utc_day(since))
            await db.risk_books.update_one(
                {"_id": account}, {"$set": {"kill_switch": switch.to_doc()}}, upsert=True
            )
            shown = (await c.get(f"{API}/portfolio/{account}")).json()["kill_switch"]
            assert shown == {"tripped": True, "active": active, "code": "max_daily_loss",
                             "reason": "daily loss 6% > 5%", "since": since}  # fmt: skip
