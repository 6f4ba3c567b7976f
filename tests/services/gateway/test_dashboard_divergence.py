"""The dashboard's divergence page in chromium: from a deployment on the Live page, ask for
a report, follow its job, and read it (the runner's stored report played through the
database, as the other dashboard tests do); a bad range is answered with its message."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from kwont_common.mongo import Database
from tests.services.gateway.dashboard_pages import new_account, screenshot_path, signed_in
from tests.services.gateway.factories import Server, login
from tests.services.gateway.test_divergence_api import deployment, play_runner, staged_report

pytestmark = pytest.mark.e2e


async def test_a_deployments_divergence_report_is_asked_for_and_read(
    gateway: Server, db: Database, web_dist: Path, browser: Browser
) -> None:
    user_id, name, password = await new_account(gateway)
    tokens = await login(gateway, name, password)
    dep = await deployment(gateway, {"Authorization": f"Bearer {tokens['access_token']}"}, db)
    page, errors = await signed_in(browser, gateway, name, password)

    await page.click("header >> text=Live")
    await page.locator(f"tr[data-deployment='{dep['id']}'] >> text=Divergence").click()
    await expect(page.locator("h2")).to_contain_text(f"on {dep['account']}")
    await page.fill("input[name=div-start]", "2024-01-05T00:00")
    await page.fill("input[name=div-end]", "2024-01-02T00:00")
    await page.click("#divergence-form button[type=submit]")
    await expect(page.locator("#divergence-error")).to_contain_text("end must be after start")

    await page.fill("input[name=div-start]", "2024-01-02T00:00")
    await page.fill("input[name=div-end]", "2024-01-05T00:00")
    await page.click("#divergence-form button[type=submit]")
    await expect(page.locator("#divergence-progress")).to_contain_text("queued")
    job = await db.backtests.find_one({"owner": user_id, "kind": "divergence"})
    assert job is not None and job["job"]["start_time"] == 1_704_153_600_000
    report = staged_report()
    await play_runner(db, job["_id"], report)

    summary = page.locator("#divergence-summary")
    await expect(summary).to_contain_text("matched 1 of 2 trades (50.00 %), missed 1, extra 0")
    cents = report.summary_cents()
    gap = f"{report.total_gap.quantize(Decimal('0.01')):,.2f}"
    await expect(page.locator("#divergence-parts tr[data-part=total]")).to_contain_text(gap)
    slip = page.locator("#divergence-parts tr[data-part=slippage]")
    await expect(slip).to_contain_text(f"{cents['slippage']:,.2f}")
    missed = page.locator("#divergence-one-sided tr[data-side=backtest_only]")
    await expect(missed).to_contain_text("risk_rejection (max_open_positions: 1 open)")
    await expect(page.locator("#divergence-matched tbody tr")).to_have_count(1)
    await expect(page.locator("#divergence-jobs li")).to_contain_text("succeeded")
    await page.screenshot(path=str(screenshot_path("divergence.png")), full_page=True)
    assert errors == []
