"""The dashboard's live page on a real paper deployment: the five trading services run as
processes on the synthetic feed, a deployment is started through the page's form, and the
account's equity changes on screen, without a reload, as the portfolio service books the
venue's fills and marks; what the page shows is what the portfolio service stored, rounded
to the cent (money), with the exact booked figure in the cell's title."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from pymongo import AsyncMongoClient

from kwont_devstack.mongo_users import MongoEndpoint
from kwont_devstack.servicerun import Pipeline
from tests.e2e.test_backtest_flow import Platform
from tests.e2e.test_backtest_flow import platform as platform  # the module's own platform
from tests.services.gateway.dashboard_pages import screenshot_path

pytestmark = pytest.mark.e2e
CENT = Decimal("0.01")
SERVICES = ("strategy", "risk", "execution", "portfolio", "marketdata")


async def equity_on_screen(page: Page) -> str:
    """The Equity figure of the account's PnL table, as the page shows it."""
    return (await page.locator("#pnl tbody tr").first.locator("td").inner_text()).strip()


async def test_a_paper_deployment_started_in_the_page_moves_its_equity_on_screen(
    platform: Platform, kafka_bootstrap: str, mongo: MongoEndpoint, web_dist: Path,
    browser: Browser, tmp_path: Path,
) -> None:  # fmt: skip
    gw = platform.settings
    p = Pipeline(kafka_bootstrap, mongo, gw.mongo_database, platform.market_db,
                 gw.topic_prefix, tmp_path / "logs")  # fmt: skip
    p.group_prefix = f"dash{uuid.uuid4().hex[:6]}"
    p.env = {"KWONT_FEED": "synthetic", "KWONT_FEED_SYMBOLS": "BTCUSDT",
             "KWONT_FEED_INTERVAL": "1m", "KWONT_FEED_PACE_S": "0.25",
             "KWONT_DEPLOYMENTS_REFRESH_S": "0.5"}  # fmt: skip
    (tmp_path / "logs").mkdir()
    conn: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo.app_uri)
    db = conn[gw.mongo_database]
    try:
        for name in SERVICES:
            p.start(name)
        for name in SERVICES:
            p.wait_ready(name, timeout=150)

        page = await browser.new_page(viewport={"width": 1280, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{platform.base_url}/login")
        await page.fill("input[name=username]", "admin")
        await page.fill("input[name=password]", "e2e-admin-password")
        await page.click("button[type=submit]")
        await expect(page.locator("#whoami")).to_have_text("admin")

        account = f"paper-{uuid.uuid4().hex[:6]}"
        await page.click("header >> text=Live")
        await page.fill("input[name=account]", account)
        await page.select_option("#deploy-form select[name=strategy]", "sma_cross")
        await page.fill("#deploy-params input[name=fast]", "2")
        await page.fill("#deploy-params input[name=slow]", "5")
        await page.select_option("select[name=deploy-symbol]", "BTCUSDT")
        await page.click("#deploy-form button[type=submit]")
        row = page.locator("#deployments tbody tr").first
        await expect(row).to_contain_text("running")

        deadline = time.monotonic() + 120
        while await db.portfolios.find_one({"_id": account}) is None:
            assert time.monotonic() < deadline, "no portfolio in 120 s:\n" + "\n".join(
                f"--- {s}\n{p.tail(s, 1500)}" for s in SERVICES
            )
            await asyncio.sleep(0.5)
        await row.locator("a.account-link").click()
        await expect(page.locator("#live-status")).to_contain_text("live", timeout=30_000)
        await page.evaluate("() => { document.body.dataset.kept = 'yes'; }")

        seen = [await equity_on_screen(page)]
        while len(set(seen)) < 3:  # the first figure and two changes after it
            assert time.monotonic() < deadline + 60, f"equity on screen stayed at {seen}"
            await asyncio.sleep(0.5)
            now = await equity_on_screen(page)
            if now != seen[-1]:
                seen.append(now)
        assert await page.evaluate("() => document.body.dataset.kept") == "yes"  # no reload

        # The page shows what the portfolio service stored, to the cent (the exact figure
        # in the cell's title), once the services are stopped.
        p.stop_all()
        stored = await db.portfolios.find_one({"_id": account})
        assert stored is not None
        exact = Decimal(str(stored["equity"]))
        cell = page.locator("#pnl tbody tr").first.locator("td")
        await expect(cell).to_have_text(str(exact.quantize(CENT, ROUND_HALF_UP)), timeout=15_000)
        assert Decimal(await cell.get_attribute("title") or "nan") == exact
        assert await db.fills.count_documents({"account": account}) > 0
        shot = screenshot_path("live-paper.png")
        await page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}; equity on screen: {seen}")
        assert errors == []
    finally:
        p.stop_all()
        await conn.close()
