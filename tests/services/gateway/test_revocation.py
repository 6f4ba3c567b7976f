"""Immediate revocation: demoting, disabling or changing the password of a user ends their
sessions at once, over REST, GraphQL and WebSocket, refresh tokens included; their API keys
follow the new role at once (inside the key cache's lifetime)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
import websockets

from kwont_common.kafka import EventProducer
from kwont_common.mongo import Mongo
from kwont_gateway.auth import authenticate
from kwont_gateway.errors import ApiError
from kwont_gateway.ratelimit import RateLimiter
from kwont_gateway.state import Gateway, load_jwt_secret
from tests.services.gateway.factories import Server, login

pytestmark = pytest.mark.integration
ME = "/api/v1/users/me"


async def _user(gateway: Server) -> tuple[str, str, str]:
    name, password = f"u{uuid.uuid4().hex[:12]}", f"pw-{uuid.uuid4().hex}"
    async with gateway.client(gateway.admin_headers) as c:
        r = await c.post("/api/v1/users", json={"username": name, "password": password})
        assert r.status_code == 201, r.text
    return r.json()["id"], name, password


async def _patch(gateway: Server, user_id: str, **body: Any) -> dict[str, Any]:
    async with gateway.client(gateway.admin_headers) as c:
        r = await c.patch(f"/api/v1/users/{user_id}", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _refused_everywhere(gateway: Server, tokens: dict[str, Any], message: str) -> None:
    async with gateway.client(_bearer(tokens)) as c:
        r = await c.get(ME)
        assert r.status_code == 401 and message in r.json()["error"]["message"], r.text
        graphql = await c.post("/graphql", json={"query": "{ strategies { id } }"})
        assert graphql.status_code == 401, graphql.text
        body = {"refresh_token": tokens["refresh_token"]}
        assert (await c.post("/api/v1/auth/refresh", json=body)).status_code == 401
    with pytest.raises(websockets.InvalidStatus) as denied:
        async with websockets.connect(f"{gateway.ws_url}/ws?access_token={tokens['access_token']}"):
            pass
    assert denied.value.response.status_code == 401


async def test_a_demoted_user_loses_the_old_role_at_once(gateway: Server) -> None:
    user_id, name, password = await _user(gateway)
    tokens = await login(gateway, name, password)
    async with gateway.client(_bearer(tokens)) as c:
        assert (await c.get(ME)).status_code == 200
        r = await c.post("/api/v1/api-keys", json={"name": "bot", "scope": "trade"})
        key = r.json()["key"]
    async with gateway.client({"X-API-Key": key}) as bot:  # the key is now cached
        assert (await bot.get(ME)).json()["role"] == "trader"
    assert (await _patch(gateway, user_id, role="viewer"))["role"] == "viewer"
    await _refused_everywhere(gateway, tokens, "session revoked")
    async with gateway.client({"X-API-Key": key}) as bot:
        assert (await bot.get(ME)).json()["role"] == "viewer"
        denied = await bot.post("/api/v1/strategies", json={"name": "s", "code": "x = 1"})
        assert denied.status_code == 403
    again = await login(gateway, name, password)
    async with gateway.client(_bearer(again)) as c:
        assert (await c.get(ME)).json()["role"] == "viewer"


async def test_a_disabled_user_is_refused_at_once_and_cannot_log_in(gateway: Server) -> None:
    user_id, name, password = await _user(gateway)
    tokens = await login(gateway, name, password)
    async with gateway.client(_bearer(tokens)) as c:
        key = (await c.post("/api/v1/api-keys", json={"name": "bot"})).json()["key"]
    async with gateway.client({"X-API-Key": key}) as bot:
        assert (await bot.get(ME)).status_code == 200
    assert (await _patch(gateway, user_id, disabled=True))["disabled"] is True
    await _refused_everywhere(gateway, tokens, "account disabled")
    async with gateway.client({"X-API-Key": key}) as bot:
        assert (await bot.get(ME)).status_code == 401
    async with gateway.client() as c:
        r = await c.post("/api/v1/auth/token", data={"username": name, "password": password})
        assert r.status_code == 401
    await _patch(gateway, user_id, disabled=False)
    await login(gateway, name, password)


async def test_a_password_change_ends_every_session(gateway: Server) -> None:
    _, name, password = await _user(gateway)
    tokens, other = await login(gateway, name, password), await login(gateway, name, password)
    async with gateway.client(_bearer(tokens)) as c:
        wrong = {"current_password": "not-it", "new_password": "n" * 12}
        assert (await c.post("/api/v1/users/me/password", json=wrong)).status_code == 403
        body = {"current_password": password, "new_password": "new-password-123"}
        assert (await c.post("/api/v1/users/me/password", json=body)).status_code == 204
    for session in (tokens, other):
        await _refused_everywhere(gateway, session, "session revoked")
    await login(gateway, name, "new-password-123")


async def test_a_change_of_nothing_is_refused(gateway: Server) -> None:
    # demoting or disabling oneself (409) and unknown users (404): test_users_admin.py
    async with gateway.client(gateway.admin_headers) as c:
        me = (await c.get(ME)).json()
        assert (await c.patch(f"/api/v1/users/{me['id']}", json={})).status_code == 422


async def test_another_replica_refuses_a_token_it_had_verified(gateway: Server) -> None:
    s = gateway.settings
    redis = aioredis.from_url(s.redis_url)
    secret = load_jwt_secret(s)
    other = Gateway(s, Mongo.connect(s), redis, EventProducer(s), secret, RateLimiter(redis, 60))
    user_id, name, password = await _user(gateway)
    token = (await login(gateway, name, password))["access_token"]
    try:
        assert (await authenticate(other, token, None)).role == "trader"  # now cached there
        await _patch(gateway, user_id, role="viewer")  # through the served replica
        with pytest.raises(ApiError) as refused:
            await authenticate(other, token, None)
        assert refused.value.status == 401
    finally:
        await other.mongo.close()
        await redis.aclose()


async def test_an_open_websocket_closes_when_the_session_is_revoked(gateway: Server) -> None:
    user_id, name, password = await _user(gateway)
    token = (await login(gateway, name, password))["access_token"]
    async with websockets.connect(f"{gateway.ws_url}/ws?access_token={token}") as ws:
        await ws.send(json.dumps({"op": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}
        await _patch(gateway, user_id, disabled=True)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)  # within ws_session_check_s (0.5 s here)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "session revoked" in closed.value.rcvd.reason
