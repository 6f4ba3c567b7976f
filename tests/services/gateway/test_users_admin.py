"""The admin's user routes: list, change a role, disable and enable; nobody else may."""

from __future__ import annotations

import uuid

import pytest

from tests.services.gateway.factories import Server, login, new_user

pytestmark = pytest.mark.integration
API = "/api/v1"


async def test_an_admin_lists_changes_and_disables_users(gateway: Server) -> None:
    name, password = f"u{uuid.uuid4().hex[:12]}", f"pw-{uuid.uuid4().hex}"
    async with gateway.client(gateway.admin_headers) as admin:
        r = await admin.post(f"{API}/users", json={"username": name, "password": password})
        user_id = r.json()["id"]
        listed = (await admin.get(f"{API}/users")).json()
        row = next(u for u in listed if u["id"] == user_id)
        assert row == {**row, "username": name, "role": "trader", "disabled": False}
        assert listed[0]["username"] == "admin"  # oldest first
        tokens = await login(gateway, name, password)

        r = await admin.patch(f"{API}/users/{user_id}", json={"role": "viewer"})
        assert r.status_code == 200 and r.json()["role"] == "viewer", r.text
        r = await admin.patch(f"{API}/users/{user_id}", json={"disabled": True})
        assert r.json()["disabled"] is True and r.json()["role"] == "viewer"
        async with gateway.client() as anyone:
            r = await anyone.post(
                f"{API}/auth/token", data={"username": name, "password": password}
            )
            assert r.status_code == 401
            r = await anyone.post(
                f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert r.status_code == 401  # revoked by the disabling

        r = await admin.patch(f"{API}/users/{user_id}", json={"disabled": False})
        assert r.json()["disabled"] is False
        assert (await login(gateway, name, password))["role"] == "viewer"

        assert (
            await admin.patch(f"{API}/users/usr_nobody", json={"role": "viewer"})
        ).status_code == 404
        r = await admin.patch(f"{API}/users/usr_x", json={"role": "owner"})
        assert r.status_code == 422


async def test_an_admin_cannot_lock_themselves_out(gateway: Server) -> None:
    async with gateway.client(gateway.admin_headers) as admin:
        me = (await admin.get(f"{API}/users/me")).json()
        for change in ({"disabled": True}, {"role": "trader"}):
            r = await admin.patch(f"{API}/users/{me['id']}", json=change)
            assert r.status_code == 409, r.text
            assert "your own account" in r.json()["error"]["message"]
        assert (
            await admin.patch(f"{API}/users/{me['id']}", json={"role": "admin"})
        ).status_code == 200
        # setting the role it already has ends no session: the admin's token still works
        assert (await admin.get(f"{API}/users/me")).status_code == 200


async def test_only_an_admin_may_see_or_change_users(gateway: Server) -> None:
    user_id, headers = await new_user(gateway)
    async with gateway.client(headers) as trader:
        assert (await trader.get(f"{API}/users")).status_code == 403
        r = await trader.patch(f"{API}/users/{user_id}", json={"role": "admin"})
        assert r.status_code == 403
