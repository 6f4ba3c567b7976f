"""Rate limits in Redis: the 101st submission in the window is refused with Retry-After,
other users are unaffected; the IP budget is shared by everyone behind one address."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from kwont_gateway.errors import ApiError
from kwont_gateway.ratelimit import RateLimiter
from tests.services.gateway.factories import Server, backtest_body, new_user

pytestmark = pytest.mark.integration


async def test_the_101st_submission_gets_429_and_others_are_unaffected(gateway: Server) -> None:
    heavy_id, heavy = await new_user(gateway)
    _, other = await new_user(gateway)
    async with gateway.client(gateway.admin_headers) as admin:  # the rate limit, not the quota
        r = await admin.put(f"/api/v1/quotas/users/{heavy_id}", json={"max_queued": 1000})
        assert r.status_code == 200, r.text
    body = backtest_body()
    async with gateway.client(heavy) as c:
        for i in range(100):
            r = await c.post("/api/v1/backtests", json=body)
            assert r.status_code == 202, (i, r.text)
        refused = await c.post("/api/v1/backtests", json=body)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["error"]["code"] == "rate_limited"
        assert (await c.get("/api/v1/backtests", params={"limit": 1})).status_code == 200
    async with gateway.client(other) as c:
        assert (await c.post("/api/v1/backtests", json=body)).status_code == 202


async def test_the_ip_window_counts_every_user_and_slides(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    limiter = RateLimiter(redis, window_s=1, prefix=f"test:{uuid.uuid4().hex}")
    for user in ("a", "b", "c"):
        await limiter.check("read", user, "10.0.0.1", per_user=10, per_ip=3)
    with pytest.raises(ApiError) as refused:
        await limiter.check("read", "d", "10.0.0.1", per_user=10, per_ip=3)
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
    await limiter.check("read", "d", "10.0.0.2", per_user=10, per_ip=3)  # another IP
    await limiter.check("submit", "d", "10.0.0.1", per_user=10, per_ip=3)  # another budget
    await redis.aclose()
