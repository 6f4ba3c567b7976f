"""Every route answers 401 without credentials, except health, readiness, the docs and the
login/refresh endpoints (which take credentials of their own). The table is walked, so a new
route cannot slip out."""

from __future__ import annotations

import re

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import BaseRoute, Route, WebSocketRoute

from kwont_common.kafka import EventProducer
from kwont_common.mongo import Mongo
from kwont_gateway.app import PUBLIC_PATHS, create_app
from kwont_gateway.ratelimit import RateLimiter
from kwont_gateway.settings import GatewaySettings
from kwont_gateway.state import Gateway
from tests.services.gateway.factories import Server

pytestmark = pytest.mark.integration
OWN_CREDENTIALS = {"/api/v1/auth/token", "/api/v1/auth/refresh"}


async def routes(settings: GatewaySettings) -> tuple[list[tuple[str, str]], list[str]]:
    """(method, path) of every HTTP route and the path of every WebSocket route."""
    redis = aioredis.from_url(settings.redis_url)  # lazy: no I/O here
    gw = Gateway(
        settings,
        Mongo.connect(settings),
        redis,
        EventProducer(settings),
        "x",
        RateLimiter(redis, 60),
    )
    app = create_app(gw)
    http: list[tuple[str, str]] = []
    ws: list[str] = []
    for route, path in flat_routes(app):
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            ws.append(path)
        elif isinstance(route, APIRoute | Route):
            http += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    await gw.mongo.close()
    return http, ws


def flat_routes(app: FastAPI) -> list[tuple[BaseRoute, str]]:
    """(route, full path) of every route, through included routers."""
    try:  # FastAPI >= 0.160 keeps included routers as nodes of the table
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(r, getattr(r, "path", "")) for r in app.routes]
    return [(c.original_route, c.path or "") for c in iter_route_contexts(app.routes)]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_every_route_but_the_public_ones_answers_401(gateway: Server) -> None:
    http, ws = await routes(gateway.settings)
    assert len(http) > 15 and "/ws" in ws
    async with httpx.AsyncClient(base_url=gateway.base_url) as c:
        for method, path in http:
            r = await c.request(method, concrete(path))
            if path in PUBLIC_PATHS:
                assert r.status_code < 400, (method, path, r.status_code)
            elif path in OWN_CREDENTIALS:
                assert r.status_code in (401, 422), (method, path, r.status_code)
            else:
                assert r.status_code == 401, (method, path, r.status_code, r.text)
                assert r.json()["error"]["code"] == "unauthorized"
    for path in ws:
        with pytest.raises(websockets.InvalidStatus) as denied:
            async with websockets.connect(gateway.ws_url + concrete(path)):
                pass
        assert denied.value.response.status_code == 401, path


async def test_a_forged_or_expired_token_is_refused(gateway: Server) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": "usr_x", "role": "admin", "typ": "access", "exp": 2**31},
        "a-guessed-secret-of-enough-length!!",
    )
    async with httpx.AsyncClient(base_url=gateway.base_url) as c:
        for token in (forged, "garbage", "kw_" + "0" * 32 + "_nope"):
            r = await c.get("/api/v1/backtests", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, token
