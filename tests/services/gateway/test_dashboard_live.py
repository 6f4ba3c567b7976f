"""The dashboard's live page in chromium: start a paper deployment through the form, stop
it, then read its account: equity and PnL, positions, balances, the kill switch (tripped
today, as the risk service stores it) and the risk rejections."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from kwont_common.mongo import Database
from kwont_risk.state import KillSwitch, utc_day
from tests.services.gateway.dashboard_pages import new_account, signed_in
from tests.services.gateway.factories import Server, portfolio_doc
from tests.services.gateway.test_signals_api import rejection, signal

pytestmark = pytest.mark.e2e


async def test_start_and_stop_a_deployment_and_read_its_account(
    gateway: Server, db: Database, web_dist: Path, browser: Browser, tmp_path: Path
) -> None:
    user_id, name, password = await new_account(gateway)
    page, errors = await signed_in(browser, gateway, name, password)
    account = f"paper-{uuid.uuid4().hex[:6]}"

    await page.click("header >> text=Live")
    await expect(page.locator("#accounts")).to_contain_text("none with a portfolio yet")
    await page.fill("input[name=account]", account)
    await page.select_option("#deploy-form select[name=strategy]", "sma_cross")
    await page.fill("#deploy-params input[name=fast]", "5")
    await page.fill("#deploy-params input[name=slow]", "20")
    await page.select_option("select[name=deploy-symbol]", "BTCUSDT")
    await page.click("#deploy-form button[type=submit]")
    row = page.locator("#deployments tbody tr").first
    await expect(row).to_contain_text("running")
    stored = await db.deployments.find_one({"owner": user_id, "account": account})
    assert stored is not None and stored["params"] == {"fast": 5, "slow": 20}
    assert stored["interval"] == "1m" and stored["venue"] == "paper"

    await row.locator("button.stop").click()
    await expect(row).to_contain_text("stopped")
    assert (await db.deployments.find_one({"_id": stored["_id"]}))["status"] == "stopped"

    # What the portfolio and risk services store for the account.
    await db.portfolios.insert_one(portfolio_doc(account, user_id))
    now = int(time.time() * 1000)
    switch = KillSwitch(True, "max_daily_loss", "daily loss 6% > 5%", now, utc_day(now))
    await db.risk_books.insert_one({"_id": account, "kill_switch": switch.to_doc()})
    dep = str(stored["_id"])
    await db.risk_rejections.insert_one(
        rejection(user_id, signal(dep, account, "BTCUSDT", 3), "cooldown")
    )

    await row.locator("a.account-link").click()
    await expect(page.locator("#pnl")).to_contain_text("10500.5")
    await expect(page.locator("#pnl")).to_contain_text("100.5")
    await expect(page.locator("#positions tbody tr")).to_contain_text("42000")
    await expect(page.locator("#balances tbody tr")).to_contain_text("USDT")
    await expect(page.locator("#kill-switch")).to_contain_text("TRIPPED")
    await expect(page.locator("#kill-switch")).to_contain_text("max_daily_loss")
    await expect(page.locator("#rejections tbody tr")).to_contain_text("cooldown reached")
    await page.screenshot(path=str(tmp_path / "live.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'live.png'}")

    # The accounts row lists it once a portfolio exists.
    await page.reload()
    await expect(page.locator("#accounts button.account")).to_have_text(account)
    assert errors == []
