"""``/trails``: a signal and what it caused (refusals, orders, fills) by correlation id,
REST and GraphQL, the caller's own only; and ``/strategies/{id}/versions/{n}``."""

from __future__ import annotations

import uuid

import pytest

from kwont_common import testing
from kwont_common.mongo import Database
from kwont_strategy.signals import record
from tests.services.gateway.factories import Server, new_user
from tests.services.gateway.test_signals_api import rejection, signal

pytestmark = pytest.mark.integration
API = "/api/v1"


def chained(kind: str, cid: str, account: str, owner: str, n: int) -> dict[str, object]:
    """An order update or a fill as stored: the event's JSON, correlated, with its owner."""
    event = testing.sample_events()[kind].model_dump(mode="json")
    ident = {"order-updates": "client_order_id", "fills": "trade_id"}[kind]
    return {
        **event, "_id": f"{kind}-{cid}-{n}", ident: f"{ident}-{cid[:8]}-{n}",
        "correlation_id": cid, "account": account, "owner": owner,
        "event_time": event["event_time"] + n,
    }  # fmt: skip


async def test_trails_follow_a_signal_to_its_fills_or_its_refusal(
    gateway: Server, db: Database
) -> None:
    owner_id, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    account, dep = f"tr-{uuid.uuid4().hex[:6]}", f"dep_{uuid.uuid4().hex[:8]}"
    filled, refused, waiting = (signal(dep, account, "BTCUSDT", m) for m in (1, 2, 3))
    for s in (filled, refused, waiting):
        await record(db, s, owner_id)
    cid = str(filled.correlation_id)
    await db.orders.insert_many(
        [chained("order-updates", cid, account, owner_id, n) for n in (2, 1)]
    )
    await db.fills.insert_one(chained("fills", cid, account, owner_id, 3))
    await db.risk_rejections.insert_one(rejection(owner_id, refused, "max_open_positions"))

    async with gateway.client(owner) as c:
        r = await c.get(f"{API}/trails", params={"account": account})
        assert r.status_code == 200, r.text
        got = r.json()
        assert [t["correlation_id"] for t in got] == [
            str(s.event_id) for s in (waiting, refused, filled)
        ]
        assert [t["outcome"] for t in got] == ["pending", "rejected", "filled"]
        assert got[1]["rejections"][0]["reason"] == "max_open_positions reached"
        assert got[1]["orders"] == [] and got[1]["fills"] == []
        one = got[2]
        assert one["signal"]["event_id"] == cid and one["signal"]["action"] == "enter_long"
        assert [o["client_order_id"][-1] for o in one["orders"]] == ["1", "2"]  # oldest first
        assert len(one["fills"]) == 1 and "owner" not in one["fills"][0]
        assert (await c.get(f"{API}/trails/{cid}")).json() == one
        assert len((await c.get(f"{API}/trails", params={"limit": 1})).json()) == 1
        missing = await c.get(f"{API}/trails/{uuid.uuid4()}")
        assert missing.status_code == 404 and "not found" in missing.json()["error"]["message"]
        assert (await c.get(f"{API}/trails", params={"limit": 0})).status_code == 422

        q = """query($a: String, $c: String!) {
            trails(account: $a) { correlationId outcome rejections }
            trail(correlationId: $c) { outcome signal orders fills } }"""
        body = (
            await c.post("/graphql", json={"query": q, "variables": {"a": account, "c": cid}})
        ).json()
        assert "errors" not in body, body
        assert [t["outcome"] for t in body["data"]["trails"]] == ["pending", "rejected", "filled"]
        assert body["data"]["trail"]["orders"] == one["orders"]
        assert body["data"]["trail"]["fills"] == one["fills"]

    async with gateway.client(other) as c:
        assert (await c.get(f"{API}/trails", params={"account": account})).json() == []
        assert (await c.get(f"{API}/trails/{cid}")).status_code == 404
        q = "query($c: String!) { trail(correlationId: $c) { outcome } }"
        body = (await c.post("/graphql", json={"query": q, "variables": {"c": cid}})).json()
        assert body["errors"][0]["extensions"]["code"] == "not_found"


async def test_any_version_of_a_strategy_has_its_source(gateway: Server) -> None:
    _, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    v1, v2 = "# one\n" + example_code(), "# two\n" + example_code()
    async with gateway.client(owner) as c:
        st = (await c.post(f"{API}/strategies", json={"name": "versions", "code": v1})).json()
        await c.put(f"{API}/strategies/{st['id']}", json={"code": v2})
        assert (await c.get(f"{API}/strategies/{st['id']}")).json()["code"] == v2
        old = await c.get(f"{API}/strategies/{st['id']}/versions/1")
        assert old.status_code == 200, old.text
        assert old.json()["code"] == v1 and old.json()["version"] == 1
        assert old.json()["check"]["status"] == "pending"
        assert (await c.get(f"{API}/strategies/{st['id']}/versions/2")).json()["code"] == v2
        none = await c.get(f"{API}/strategies/{st['id']}/versions/3")
        assert none.status_code == 404 and "1..2" in none.json()["error"]["message"]
        builtin = await c.get(f"{API}/strategies/sma_cross/versions/1")
        assert builtin.status_code == 404 and "built in" in builtin.json()["error"]["message"]
        assert (await c.get(f"{API}/strategies/{st['id']}/versions/0")).status_code == 422
        q = "query($i: ID!) { strategyVersion(id: $i, version: 1) { version code checkStatus } }"
        body = (await c.post("/graphql", json={"query": q, "variables": {"i": st["id"]}})).json()
        assert body["data"]["strategyVersion"] == {
            "version": 1,
            "code": v1,
            "checkStatus": "pending",
        }
    async with gateway.client(other) as c:
        assert (await c.get(f"{API}/strategies/{st['id']}/versions/1")).status_code == 404


def example_code() -> str:
    from kwont_gateway.models.strategies import EXAMPLE_CODE

    return EXAMPLE_CODE
