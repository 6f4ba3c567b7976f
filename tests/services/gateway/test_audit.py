"""Every admin action is in the audit log (who, what, target, when, from which IP), which
admins page through over REST, newest first."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.services.gateway.factories import Server, new_user

pytestmark = pytest.mark.integration


async def test_admin_actions_are_audited_and_paged(gateway: Server) -> None:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    name = f"u{uuid.uuid4().hex[:12]}"
    async with gateway.client(gateway.admin_headers) as c:
        body = {"username": name, "password": "p" * 12, "role": "trader"}
        user_id = (await c.post("/api/v1/users", json=body)).json()["id"]
        assert (await c.patch(f"/api/v1/users/{user_id}", json={"role": "viewer"})).is_success
        reset = await c.patch(f"/api/v1/users/{user_id}", json={"password": "q" * 12})
        assert reset.is_success
        assert (await c.patch("/api/v1/symbols/ETHBTC", json={"description": "audited"})).is_success
        page = (await c.get("/api/v1/audit", params={"limit": 4})).json()
        second = (await c.get("/api/v1/audit", params={"limit": 1, "offset": 1})).json()
    assert page["total"] >= 4 and page["limit"] == 4 and len(page["items"]) == 4
    newest = page["items"]
    assert [(e["action"], e["target"]) for e in newest] == [
        ("symbol.update", "ETHBTC"),
        ("user.update", user_id),
        ("user.update", user_id),
        ("user.create", user_id),
    ]
    assert newest[1]["details"] == {"password": "reset"} and "q" * 12 not in str(page)
    assert newest[2]["details"] == {"role": "viewer"}
    assert newest[3]["details"] == {"username": name, "role": "trader"}
    for entry in newest:
        assert entry["actor_name"] == "admin" and entry["ip"] == "127.0.0.1"
        assert dt.datetime.fromisoformat(entry["at"]) >= started
    assert second["items"] == newest[1:2]


async def test_only_admins_read_the_audit_log(gateway: Server) -> None:
    _, trader = await new_user(gateway)
    async with gateway.client(trader) as c:
        assert (await c.get("/api/v1/audit")).status_code == 403
