"""The web dashboard end to end: a backtest submitted through the page in chromium is run by
a real backtest-runner (Docker sandbox), its progress shows while it runs, and the result
page draws the charts and pages the trades the API holds."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_backtest_flow import API, Platform
from tests.e2e.test_backtest_flow import platform as platform  # the module's own platform

pytestmark = pytest.mark.e2e
DASH = "\u2013"  # the pager writes ranges with an en dash


async def test_a_backtest_submitted_in_the_browser_runs_and_is_shown(
    platform: Platform, web_dist: Path, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{platform.base_url}/")
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", "e2e-admin-password")
    await page.click("button[type=submit]")
    await expect(page.locator("#whoami")).to_have_text("admin")

    await page.click("header >> text=New backtest")
    await page.select_option("select[name=strategy]", "sma_cross")
    await page.fill("#params input[name=fast]", "10")
    await page.fill("#params input[name=slow]", "30")
    await page.select_option("select[name=interval]", "1m")
    await page.fill("input[name=start]", "2024-01-01")
    await page.fill("input[name=end]", "2024-01-08")
    await page.click("#submit-form button[type=submit]")
    await page.wait_for_url("**/backtests/bt_*")
    job_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#progress")).to_be_attached()  # queued: the runner needs seconds
    await expect(page.locator("#status")).to_have_text("succeeded", timeout=180_000)

    async with httpx.AsyncClient(base_url=platform.base_url, headers=platform.headers) as c:
        first = (await c.get(f"{API}/backtests/{job_id}/trades", params={"limit": 25})).json()
    total = first["total"]
    assert total > 50, total
    await expect(page.locator("#trades-range")).to_have_text(f" 1{DASH}25 of {total} ")
    for chart in ("equity-chart", "candle-chart"):
        sizes = await page.eval_on_selector_all(
            f"#{chart} canvas", "els => els.map(e => [e.width, e.height])"
        )
        assert sizes and all(w > 0 and h > 0 for w, h in sizes), (chart, sizes)
    # 7 days of 1m candles are 10,080: merged 4 to a bar to stay within 3,000
    await expect(page.get_by_text("Each bar merges 4 1m candles.")).to_be_visible()
    rows = page.locator("#trades tbody tr")
    assert f"{first['items'][0]['entry_price']:.4f}" in await rows.first.inner_text()
    await page.click("#trades-next")
    await expect(page.locator("#trades-range")).to_have_text(f" 26{DASH}50 of {total} ")
    await page.screenshot(path=str(tmp_path / "e2e-result.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'e2e-result.png'}")
    assert errors == []
