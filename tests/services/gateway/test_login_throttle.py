"""Login throttling: the sixth failed login of an account gets 429 with Retry-After (even
with the right password), a success resets the account's count, lockouts double, the IP
budget counts every account, and a Redis outage lets logins through (fail open)."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
import redis.asyncio as aioredis

from kwont_gateway.errors import ApiError
from kwont_gateway.throttle import LoginThrottle
from tests.services.gateway.factories import Server

pytestmark = pytest.mark.integration


async def _user(gateway: Server) -> tuple[str, str]:
    name, password = f"u{uuid.uuid4().hex[:12]}", f"pw-{uuid.uuid4().hex}"
    async with gateway.client(gateway.admin_headers) as c:
        r = await c.post("/api/v1/users", json={"username": name, "password": password})
        assert r.status_code == 201, r.text
    return name, password


async def _login(gateway: Server, name: str, password: str) -> tuple[int, dict[str, str], str]:
    async with gateway.client() as c:
        r = await c.post("/api/v1/auth/token", data={"username": name, "password": password})
    return r.status_code, dict(r.headers), r.text


async def test_the_sixth_failed_login_is_refused_until_the_lockout_ends(gateway: Server) -> None:
    name, password = await _user(gateway)
    for _ in range(5):
        assert (await _login(gateway, name, "wrong-password"))[0] == 401
    status, headers, text = await _login(gateway, name, password)  # right, but locked
    assert status == 429, text
    assert 1 <= int(headers["retry-after"]) <= 60
    assert "try again in" in text and "UTC" in text
    other, other_password = await _user(gateway)
    assert (await _login(gateway, other, other_password))[0] == 200


async def test_a_success_resets_the_account_count(gateway: Server) -> None:
    name, password = await _user(gateway)
    for _ in range(4):
        assert (await _login(gateway, name, "wrong-password"))[0] == 401
    assert (await _login(gateway, name, password))[0] == 200
    for _ in range(4):
        assert (await _login(gateway, name, "wrong-password"))[0] == 401
    assert (await _login(gateway, name, password))[0] == 200


def _throttle(redis: aioredis.Redis, **over: int) -> LoginThrottle:
    limits = {"per_account": 3, "per_ip": 4, "window_s": 60, "lockout_s": 1, "lockout_max_s": 4}
    return LoginThrottle(redis, **{**limits, **over}, prefix=f"test:{uuid.uuid4().hex}")


async def test_each_failure_after_a_lockout_doubles_it_up_to_the_cap(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    throttle = _throttle(redis)
    assert [await throttle.failed("bob", f"10.0.0.{i}") for i in range(3)] == [0, 0, 1000]
    with pytest.raises(ApiError) as refused:
        await throttle.check("bob", "10.0.0.9")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
    await asyncio.sleep(1.1)
    await throttle.check("bob", "10.0.0.9")  # the lockout ended
    assert await throttle.failed("bob", "10.0.0.9") == 2000
    assert await throttle.failed("bob", "10.0.0.9") == 4000
    assert await throttle.failed("bob", "10.0.0.9") == 4000  # capped
    await throttle.succeeded("bob")
    await throttle.check("bob", "10.0.0.8")
    await redis.aclose()


async def test_the_ip_budget_counts_every_account(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    throttle = _throttle(redis)
    for user in ("a", "b", "c", "d"):
        await throttle.failed(user, "10.0.0.1")
    with pytest.raises(ApiError):
        await throttle.check("e", "10.0.0.1")
    await throttle.check("e", "10.0.0.2")
    await redis.aclose()


async def test_a_redis_outage_fails_open(redis_url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = aioredis.from_url(f"redis://127.0.0.1:{port}", socket_connect_timeout=0.5)
    throttle = _throttle(redis, per_account=1)
    for _ in range(3):
        assert await throttle.failed("bob", "10.0.0.1") == 0
        await throttle.check("bob", "10.0.0.1")
    await throttle.succeeded("bob")
    await redis.aclose()
