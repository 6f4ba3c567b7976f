"""With two users, each of the second user's attempts to read, change or cancel the first
user's objects fails as "not found" (404), through REST, WebSocket and GraphQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets

from tests.services.gateway.factories import Server, backtest_body, new_user

pytestmark = pytest.mark.integration
API = "/api/v1"


@pytest.fixture
async def first_users_objects(gateway: Server) -> dict[str, Any]:
    """A strategy, a backtest, an optimisation and a deployment of one user, and a second user."""
    _, owner = await new_user(gateway)
    _, intruder = await new_user(gateway)
    async with gateway.client(owner) as c:
        strategy = (
            await c.post(f"{API}/strategies", json={"name": "mine", "code": "x = 1"})
        ).json()
        r = await c.post(f"{API}/backtests", json=backtest_body())
        assert r.status_code == 202, r.text
        backtest = r.json()["job_id"]
        key = (await c.post(f"{API}/api-keys", json={"name": "k"})).json()["id"]
    return {
        "owner": owner,
        "intruder": intruder,
        "strategy": strategy["id"],
        "backtest": backtest,
        "key": key,
    }


async def test_rest_reads_changes_and_cancels_of_anothers_objects_are_404(
    gateway: Server, first_users_objects: dict[str, Any]
) -> None:
    o = first_users_objects
    st, bt = o["strategy"], o["backtest"]
    attempts = [
        ("GET", f"{API}/strategies/{st}", None),
        ("PUT", f"{API}/strategies/{st}", {"code": "y = 2"}),
        ("DELETE", f"{API}/strategies/{st}", None),
        ("GET", f"{API}/backtests/{bt}", None),
        ("GET", f"{API}/backtests/{bt}/result", None),
        ("GET", f"{API}/backtests/{bt}/trades", None),
        ("DELETE", f"{API}/backtests/{bt}", None),
        ("DELETE", f"{API}/api-keys/{o['key']}", None),
        ("POST", f"{API}/backtests", backtest_body(strategy=st, params={})),
    ]
    async with gateway.client(o["intruder"]) as c:
        for method, path, body in attempts:
            r = await c.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert r.json()["error"]["code"] == "not_found"
        listed = (await c.get(f"{API}/backtests")).json()
        assert listed["total"] == 0
        names = [s["id"] for s in (await c.get(f"{API}/strategies")).json()]
        assert st not in names
    async with gateway.client(o["owner"]) as c:  # and nothing changed
        assert (await c.get(f"{API}/strategies/{st}")).json()["latest_version"] == 1
        assert (await c.get(f"{API}/backtests/{bt}")).json()["status"] == "queued"


async def test_websocket_subscriptions_to_anothers_objects_are_not_found(
    gateway: Server, first_users_objects: dict[str, Any]
) -> None:
    o = first_users_objects
    with pytest.raises(websockets.InvalidStatus) as denied:
        async with websockets.connect(
            f"{gateway.ws_url}/ws/backtests/{o['backtest']}", additional_headers=o["intruder"]
        ):
            pass
    assert denied.value.response.status_code == 404
    async with websockets.connect(f"{gateway.ws_url}/ws", additional_headers=o["intruder"]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channel": "backtest", "id": o["backtest"]}))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "error" and reply["code"] == "not_found"
        await ws.send(json.dumps({"op": "subscribe", "channel": "fills", "account": "acct-of-1"}))
        assert json.loads(await ws.recv())["code"] == "not_found"
    async with websockets.connect(f"{gateway.ws_url}/ws", additional_headers=o["owner"]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channel": "backtest", "id": o["backtest"]}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        state = json.loads(await ws.recv())
        assert state["type"] == "state" and state["data"]["id"] == o["backtest"]
