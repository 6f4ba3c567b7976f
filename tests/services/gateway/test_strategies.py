"""Strategy uploads as their uploader sees them while the backtest-runner checks them."""

from __future__ import annotations

from typing import Any

import pytest

from kwont_common.mongo import Database
from tests.services.gateway.checking import claim_until
from tests.services.gateway.factories import Server, new_user

pytestmark = pytest.mark.integration


async def test_strategies_are_listed_while_the_runner_checks_an_upload(
    gateway: Server, db: Database
) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        created = await c.post("/api/v1/strategies", json={"name": "s", "code": "x = 1"})
        assert created.status_code == 201, created.text
        ident = created.json()["id"]
        await claim_until(db, ident)

        listed = await c.get("/api/v1/strategies")
        assert listed.status_code == 200, listed.text
        own: list[dict[str, Any]] = [s for s in listed.json() if s["id"] == ident]
        assert [v["check"]["status"] for v in own[0]["versions"]] == ["checking"]

        one = await c.get(f"/api/v1/strategies/{ident}")
        assert one.status_code == 200, one.text
        assert one.json()["versions"][0]["check"]["status"] == "checking"

        query = {"query": "{ strategies { id checkStatus } }"}
        graphql = (await c.post("/graphql", json=query)).json()
        assert {"id": ident, "checkStatus": "checking"} in graphql["data"]["strategies"]
