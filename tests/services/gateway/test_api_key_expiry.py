"""API keys expire (optional lifetime, capped by a maximum that is also the default) and
record when they were last used, at most once a minute."""

from __future__ import annotations

import datetime as dt

import pytest

from kwont_common.mongo import Database
from tests.services.gateway.factories import Server, new_user

pytestmark = pytest.mark.integration


async def test_an_expired_key_gets_401_saying_so(gateway: Server, db: Database) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        r = await c.post("/api/v1/api-keys", json={"name": "bot", "expires_in_days": 1})
        assert r.status_code == 201, r.text
        created = r.json()
    expires = dt.datetime.fromisoformat(created["expires_at"])
    assert dt.timedelta(hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await db.api_keys.update_one({"_id": created["id"]}, {"$set": {"expires_at": past}})
    async with gateway.client({"X-API-Key": created["key"]}) as bot:
        r = await bot.get("/api/v1/backtests")
    assert r.status_code == 401
    message = r.json()["error"]["message"]
    assert "expired" in message and "POST /api/v1/api-keys" in message


async def test_the_lifetime_defaults_to_the_maximum_and_may_not_exceed_it(
    gateway: Server,
) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        default = (await c.post("/api/v1/api-keys", json={"name": "bot"})).json()
        too_long = await c.post("/api/v1/api-keys", json={"name": "b", "expires_in_days": 366})
    left = dt.datetime.fromisoformat(default["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=364) < left <= dt.timedelta(days=365)
    assert too_long.status_code == 422 and "365" in too_long.json()["error"]["message"]


async def test_last_used_is_recorded_at_most_once_a_minute(gateway: Server) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        created = (await c.post("/api/v1/api-keys", json={"name": "bot"})).json()
        assert created["last_used_at"] is None
        async with gateway.client({"X-API-Key": created["key"]}) as bot:
            assert (await bot.get("/api/v1/backtests")).status_code == 200
            first = (await c.get("/api/v1/api-keys")).json()[0]["last_used_at"]
            assert first is not None
            for _ in range(3):
                assert (await bot.get("/api/v1/backtests")).status_code == 200
        assert (await c.get("/api/v1/api-keys")).json()[0]["last_used_at"] == first
