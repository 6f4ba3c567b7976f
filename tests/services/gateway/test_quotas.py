"""Job quotas on the real gateway: 429 with Retry-After past a user's queued-jobs limit,
admin overrides per user and role (REST and GraphQL, audited), one's own usage."""

from __future__ import annotations

import pytest

from tests.services.gateway.factories import Server, backtest_body, new_user
from tests.services.gateway.test_graphql import gql_post

pytestmark = pytest.mark.integration


async def _submit(gateway: Server, headers: dict[str, str], fast: int) -> int:
    async with gateway.client(headers) as c:
        r = await c.post("/api/v1/backtests", json=backtest_body(params={"fast": fast, "slow": 40}))
    return r.status_code


async def test_past_the_user_quota_a_submission_gets_429_with_retry_after(
    gateway: Server,
) -> None:
    user_id, headers = await new_user(gateway)
    _, other = await new_user(gateway)
    async with gateway.client(gateway.admin_headers) as admin:
        r = await admin.put(f"/api/v1/quotas/users/{user_id}", json={"max_queued": 2})
        assert r.status_code == 200, r.text
        assert r.json()["max_queued"] == 2
    assert [await _submit(gateway, headers, f) for f in (5, 6)] == [202, 202]
    async with gateway.client(headers) as c:
        refused = await c.post("/api/v1/backtests", json=backtest_body(params={"fast": 7}))
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(gateway.settings.quota_retry_after_s)
        error = refused.json()["error"]
        assert error["code"] == "quota_exceeded"
        assert "quota allows 2" in error["message"] and "/api/v1/quotas/me" in error["message"]
        grid = backtest_body(grid={"fast": {"start": 2, "stop": 4, "step": 1}})
        assert (await c.post("/api/v1/optimizations", json=grid)).status_code == 429
        me = (await c.get("/api/v1/quotas/me")).json()
        assert me == {"max_queued": 2, "source": "user", "queued": 2}
        # a job that starts frees a place
        [queued] = (await c.get("/api/v1/backtests", params={"status": "queued"})).json()["items"][
            :1
        ]
        assert (await c.delete(f"/api/v1/backtests/{queued['id']}")).status_code == 202
    assert await _submit(gateway, headers, 8) == 202
    assert await _submit(gateway, other, 5) == 202  # the default quota of others is untouched
    async with gateway.client(gateway.admin_headers) as admin:
        entries = (await admin.get("/api/v1/audit", params={"limit": 20})).json()["items"]
        assert any(e["action"] == "quota.set" and e["target"] == f"user:{user_id}"
                   and e["details"] == {"max_queued": 2} for e in entries)  # fmt: skip


async def test_role_quota_applies_below_a_user_override_and_only_admins_set_them(
    gateway: Server,
) -> None:
    user_id, headers = await new_user(gateway, role="viewer")
    async with gateway.client(headers) as c:
        denied = await c.put("/api/v1/quotas/roles/viewer", json={"max_queued": 0})
        assert denied.status_code == 403
    async with gateway.client(gateway.admin_headers) as admin:
        assert (await admin.put("/api/v1/quotas/roles/viewer", json={"max_queued": 3})
                ).status_code == 200  # fmt: skip
        bad = await admin.put("/api/v1/quotas/roles/root", json={"max_queued": 3})
        assert bad.status_code == 422
        missing = await admin.put("/api/v1/quotas/users/usr_nobody", json={"max_queued": 3})
        assert missing.status_code == 404
        negative = await admin.put(f"/api/v1/quotas/users/{user_id}", json={"max_queued": -1})
        assert negative.status_code == 422 and "max_queued" in negative.text
    async with gateway.client(headers) as c:
        assert (await c.get("/api/v1/quotas/me")).json()["source"] == "role"
    answer = await gql_post(
        gateway, gateway.admin_headers,
        "mutation($t: String!) { setQuota(scope: USER, target: $t, maxQueued: 9) "
        "{ scope target maxQueued } }", t=user_id,
    )  # fmt: skip
    assert answer["data"]["setQuota"] == {"scope": "user", "target": user_id, "maxQueued": 9}
    mine = await gql_post(gateway, headers, "{ myQuota { maxQueued source queued } }")
    assert mine["data"]["myQuota"] == {"maxQueued": 9, "source": "user", "queued": 0}
    refused = await gql_post(
        gateway, headers, "mutation { setQuota(scope: ROLE, target: \"viewer\", maxQueued: 99) "
        "{ maxQueued } }",
    )  # fmt: skip
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    async with gateway.client(gateway.admin_headers) as admin:
        table = (await admin.get("/api/v1/quotas")).json()
        assert table["default_max_queued"] == gateway.settings.quota_max_queued
        assert {"scope": "role", "target": "viewer"}.items() <= next(
            o for o in table["overrides"] if o["target"] == "viewer").items()  # fmt: skip
        assert (await admin.delete("/api/v1/quotas/roles/viewer")).status_code == 204
        assert (await admin.delete("/api/v1/quotas/roles/viewer")).status_code == 404
