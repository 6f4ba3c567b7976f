"""Accounts and auth: password login, refresh rotation and revocation, API keys, roles."""

from __future__ import annotations

import pytest

from kwont_common.mongo import Mongo
from kwont_gateway.main import create_admin
from tests.services.gateway.factories import Server, login, new_user

pytestmark = pytest.mark.integration


async def test_login_gives_a_short_lived_token_and_a_refresh_token(gateway: Server) -> None:
    tokens = await login(gateway, "admin", gateway.admin_password)
    assert tokens["expires_in"] == 900 and tokens["role"] == "admin"
    async with gateway.client({"Authorization": f"Bearer {tokens['access_token']}"}) as c:
        me = (await c.get("/api/v1/users/me")).json()
    assert me["username"] == "admin" and me["via"] == "token"


async def test_a_wrong_password_and_an_unknown_user_get_the_same_401(gateway: Server) -> None:
    async with gateway.client() as c:
        wrong = await c.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
        unknown = await c.post("/api/v1/auth/token", data={"username": "ghost", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "unauthorized"


async def test_passwords_are_stored_as_argon2id_hashes(gateway: Server) -> None:
    m = Mongo.connect(gateway.settings)
    doc = await m.write.users.find_one({"username": "admin"})
    await m.close()
    assert doc is not None and doc["password_hash"].startswith("$argon2id$")
    assert gateway.admin_password not in str(doc)


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    gateway: Server,
) -> None:
    first = await login(gateway, "admin", gateway.admin_password)
    async with gateway.client() as c:
        r = await c.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert r.status_code == 200, r.text
        second = r.json()
        assert second["refresh_token"] != first["refresh_token"]
        reuse = await c.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reuse.status_code == 401 and "already used" in reuse.json()["error"]["message"]
        # theft detection: the token issued by the rotation is now revoked too
        after = await c.post(
            "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
        assert after.status_code == 401


async def test_logout_revokes_a_refresh_token(gateway: Server) -> None:
    tokens = await login(gateway, "admin", gateway.admin_password)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with gateway.client(headers) as c:
        body = {"refresh_token": tokens["refresh_token"]}
        assert (await c.post("/api/v1/auth/logout", json=body)).status_code == 204
        assert (await c.post("/api/v1/auth/refresh", json=body)).status_code == 401


async def test_api_keys_are_shown_once_scoped_and_revocable(gateway: Server) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        r = await c.post("/api/v1/api-keys", json={"name": "bot", "scope": "read"})
        assert r.status_code == 201
        created = r.json()
        listed = (await c.get("/api/v1/api-keys")).json()
    assert created["key"].startswith("kw_") and all("key" not in k for k in listed)
    async with gateway.client({"X-API-Key": created["key"]}) as bot:
        assert (await bot.get("/api/v1/backtests")).status_code == 200
        denied = await bot.post("/api/v1/strategies", json={"name": "x", "code": "pass"})
        assert denied.status_code == 403
        minted = await bot.post("/api/v1/api-keys", json={"name": "again", "scope": "read"})
        assert minted.status_code == 403
    async with gateway.client(headers) as c:
        assert (await c.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 204
    async with gateway.client({"Authorization": f"Bearer {created['key']}"}) as bot:
        assert (await bot.get("/api/v1/backtests")).status_code == 401


async def test_a_trade_key_may_submit_and_a_viewer_may_only_read(gateway: Server) -> None:
    _, trader = await new_user(gateway)
    async with gateway.client(trader) as c:
        key = (await c.post("/api/v1/api-keys", json={"name": "t", "scope": "trade"})).json()["key"]
    async with gateway.client({"X-API-Key": key}) as bot:
        r = await bot.post("/api/v1/strategies", json={"name": "s", "code": "x = 1"})
        assert r.status_code == 201
    _, viewer = await new_user(gateway, role="viewer")
    async with gateway.client(viewer) as c:
        assert (await c.get("/api/v1/strategies")).status_code == 200
        assert (
            await c.post("/api/v1/strategies", json={"name": "s", "code": "x"})
        ).status_code == 403
        trade_key = await c.post("/api/v1/api-keys", json={"name": "t", "scope": "trade"})
        assert trade_key.status_code == 403
        assert (
            await c.post("/api/v1/users", json={"username": "zzz", "password": "p" * 12})
        ).status_code == 403


async def test_create_admin_is_idempotent_and_keeps_a_generated_password(
    gateway: Server, mongo_db: str
) -> None:
    settings = gateway.settings.model_copy(
        update={"admin_password": None, "mongo_database": mongo_db}
    )
    first = await create_admin(settings)
    assert "created" in first and "/api/v1/auth/token" in first and "username=admin" in first
    stored = settings.run_dir / "gateway" / "admin-password"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert stored.read_text().strip() in first
    second = await create_admin(settings)
    assert "already exists" in second and stored.read_text().strip() not in second
    assert (await create_admin(gateway.settings)).count("already exists") == 1
