"""The gateway serves the web dashboard at ``/`` with a single-page fallback, and leaves its
own paths alone; without a build, ``/`` says how to make one."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from kwont_gateway.webapp import serve_web
from tests.services.gateway.factories import Server

pytestmark = pytest.mark.integration


async def test_the_app_and_its_client_routes_are_served_but_not_over_the_api(
    gateway: Server, web_dist: Path
) -> None:
    index = (web_dist / "index.html").read_text()
    asset = next((web_dist / "assets").glob("*.js")).name
    async with gateway.client() as c:
        for path in ("/", "/login", "/backtests/bt_123", "/backtests/new"):
            r = await c.get(path)
            assert r.status_code == 200 and r.text == index, path
            assert r.headers["cache-control"] == "no-cache"
        r = await c.get(f"/assets/{asset}")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"]
        assert "immutable" in r.headers["cache-control"]
        # no way out of the build directory
        assert (await c.get("/%2e%2e/%2e%2e/pyproject.toml")).text == index

        # The gateway's own paths keep their answers.
        r = await c.get("/api/v1/no-such-thing")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert (await c.get("/api/v1/auth/token")).status_code == 405
        assert (await c.get("/api/v1/backtests")).status_code == 401
        assert (await c.get("/graphql")).status_code == 401
        for path in ("/ws", "/ws/backtests/bt_1", "/redoc", "/readyz", "/api"):
            assert (await c.get(path)).text != index, path
        assert "swagger" in (await c.get("/docs")).text.lower()
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        assert (await c.get("/metrics")).status_code == 404
        assert "/candles/{symbol}" in str((await c.get("/openapi.json")).json()["paths"])


async def test_without_a_build_the_root_says_how_to_build_it(tmp_path: Path) -> None:
    app = FastAPI()
    serve_web(app, tmp_path / "dist")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        for path in ("/", "/backtests/bt_1"):
            r = await c.get(path)
            assert r.status_code == 200 and "make up" in r.text, path
            assert "scripts/build-web.sh" in r.text
