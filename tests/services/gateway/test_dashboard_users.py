"""The admin's users page in chromium: create a user, change their role, disable them (they
can no longer sign in) and enable them again; a trader has no such page."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from kwont_common.mongo import Database
from tests.services.gateway.dashboard_pages import new_account, signed_in
from tests.services.gateway.factories import Server

pytestmark = pytest.mark.e2e


async def test_an_admin_manages_users_and_a_trader_cannot(
    gateway: Server, db: Database, web_dist: Path, browser: Browser, tmp_path: Path
) -> None:
    _, admin_name, admin_password = await new_account(gateway, role="admin")
    page, errors = await signed_in(browser, gateway, admin_name, admin_password)
    await page.click("header >> text=Users")
    mine = page.locator(f"#users tr[data-user={admin_name}]")
    await expect(mine).to_contain_text("(you)")

    name, password = f"new{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    await page.fill("input[name=new-username]", name)
    await page.fill("input[name=new-password]", password)
    await page.select_option("select[name=new-role]", "viewer")
    await page.click("#new-user button[type=submit]")
    row = page.locator(f"#users tr[data-user={name}]")
    await expect(row).to_contain_text("active")
    await expect(row.locator("select[name=role]")).to_have_value("viewer")

    await row.locator("select[name=role]").select_option("trader")
    await expect(page.locator("#users-error")).to_be_empty()
    await row.locator("button.toggle").click()
    await expect(row).to_contain_text("disabled")
    await expect(row.locator("button.toggle")).to_have_text("Enable")
    stored = await db.users.find_one({"username": name})
    assert stored is not None and stored["role"] == "trader" and stored["disabled"] is True
    async with gateway.client() as c:
        r = await c.post("/api/v1/auth/token", data={"username": name, "password": password})
        assert r.status_code == 401

    # Disabling yourself is refused with the gateway's message, and nothing changes.
    await mine.locator("button.toggle").click()
    await expect(page.locator("#users-error")).to_contain_text("your own account")
    await expect(mine).to_contain_text("active")
    await page.screenshot(path=str(tmp_path / "users.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'users.png'}")

    await row.locator("button.toggle").click()
    await expect(row).to_contain_text("active")
    trader_page, trader_errors = await signed_in(browser, gateway, name, password)
    await expect(trader_page.locator("header >> text=Users")).to_have_count(0)
    await trader_page.goto(f"{gateway.base_url}/admin/users")
    await expect(trader_page.locator("main .error")).to_have_text("Only an admin may manage users.")
    assert errors == [] and trader_errors == []
