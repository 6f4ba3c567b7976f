"""The dashboard's live page in chromium: start a paper deployment through the form, stop
it, then read its account: equity and PnL, positions, balances, the kill switch (tripped
today, as the risk service stores it) and the risk rejections."""

from __future__ import annotations

import hashlib
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from kwont_common import testing
from kwont_common.events import PortfolioSnapshot
from kwont_common.events.portfolio_snapshots import Balance, Position
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from kwont_risk.state import KillSwitch, utc_day
from kwont_strategy.signals import record
from tests.services.gateway.dashboard_pages import new_account, screenshot_path, signed_in
from tests.services.gateway.factories import Server, portfolio_doc
from tests.services.gateway.test_signals_api import rejection, signal

pytestmark = pytest.mark.e2e


async def test_start_and_stop_a_deployment_and_read_its_account(
    gateway: Server, db: Database, web_dist: Path, browser: Browser
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
    await page.screenshot(path=str(screenshot_path("live-account.png")), full_page=True)

    # The accounts row lists it once a portfolio exists.
    await page.reload()
    await expect(page.locator("#accounts button.account")).to_have_text(account)
    assert errors == []


async def test_the_account_updates_live_from_kafka_and_shows_the_trail(
    gateway: Server, db: Database, web_dist: Path, browser: Browser, producer: EventProducer
) -> None:
    """Real PortfolioSnapshot events on the topic change the page without a reload; a
    signal's refusal and another's orders and fills show in the trail."""
    user_id, name, password = await new_account(gateway)
    account = f"paper-{uuid.uuid4().hex[:6]}"
    await db.portfolios.insert_one(portfolio_doc(account, user_id))  # as the service stores it
    dep = f"dep_{uuid.uuid4().hex[:8]}"
    refused, filled = signal(dep, account, "BTCUSDT", 1), signal(dep, account, "BTCUSDT", 2)
    await record(db, refused, user_id)
    await db.risk_rejections.insert_one(rejection(user_id, refused, "max_open_positions"))
    page, errors = await signed_in(browser, gateway, name, password)
    await page.click("header >> text=Live")
    await page.click(f"#accounts button.account >> text={account}")
    await expect(page.locator("#live-status")).to_contain_text("live")
    await expect(page.locator("#pnl")).to_contain_text("10500.5")
    marker = await page.evaluate("() => { document.body.dataset.kept = 'yes'; return 1; }")
    curve_before = await canvas_ink(page, "#account-equity")

    now = int(time.time() * 1000)
    for i, value in enumerate(("10750.25", "10812.75")):
        await producer.publish(snapshot(account, value, now + i * 60_000))
        await expect(page.locator("#pnl")).to_contain_text(value, timeout=15_000)
    await expect(page.locator("#positions tbody tr")).to_contain_text("43000")
    await expect(page.locator("#pnl")).to_contain_text("312.75")
    assert await page.evaluate("() => document.body.dataset.kept") == "yes" and marker == 1
    assert await canvas_ink(page, "#account-equity") != curve_before  # the curve grew

    await expect(page.locator(f"#trail tr[data-correlation='{refused.event_id}']")).to_contain_text(
        "refused by max_open_positions: max_open_positions reached"
    )
    # The strategy's signal then the venue's fill arrive: each push reloads the trail.
    await record(db, filled, user_id)
    fill = testing.sample_events()["fills"].model_dump(mode="json")
    fill.update(account=account, correlation_id=str(filled.correlation_id), owner=user_id)
    await db.fills.insert_one(fill)
    await producer.publish(filled)
    row = page.locator(f"#trail tr[data-correlation='{filled.event_id}']")
    await expect(row).to_contain_text("filled", timeout=15_000)
    await expect(row).to_contain_text(f"trade {fill['trade_id']}")
    shot = screenshot_path("live.png")
    await page.locator("#account").screenshot(path=str(shot))
    await page.locator("#account").screenshot(path=str(screenshot_path("readme/live.png")))
    print(f"screenshot: {shot}")
    assert errors == []


def snapshot(account: str, equity: str, at: int) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        event_time=at, source="portfolio", account=account, equity=Decimal(equity),
        realized_pnl=Decimal(400), unrealized_pnl=Decimal(equity) - Decimal(10500),
        balances=[Balance(asset="USDT", total=Decimal(10400))],
        positions=[Position(symbol="BTCUSDT", side="LONG", quantity=Decimal("0.1"),
                            average_entry=Decimal(42000), mark_price=Decimal(43000))],
    )  # fmt: skip


async def canvas_ink(page: Page, selector: str) -> str:
    """A digest of the chart's canvases: changes when anything is drawn differently."""
    js = """(sel) => [...document.querySelectorAll(sel + ' canvas')]
        .map(c => c.toDataURL()).join('|')"""
    data: str = await page.evaluate(js, selector)
    return hashlib.sha256(data.encode()).hexdigest()
