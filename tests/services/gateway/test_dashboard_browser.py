"""The web dashboard in a real browser (apt chromium through Playwright) against the session
gateway: sign in, submit a backtest through the form, watch its progress bar move on the
WebSocket, then read the result page (both charts drawn, trades paged), sort the list,
survive an expired access token (refresh) and sign out.

No backtest-runner runs here: the test plays the runner as the other gateway tests do
(progress on Kafka, the result stored by the runner's own functions, then the result event).
tests/e2e/test_backtest_flow.py covers the runner itself."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Browser, Page, expect

from kwont_backtest_runner.results import result_document
from kwont_common import backtest_trades
from kwont_common.events import BacktestJob, BacktestProgress, BacktestResult
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from tests.services.gateway.dashboard_pages import screenshot_path
from tests.services.gateway.factories import HOUR, JAN_2024, Server

pytestmark = pytest.mark.e2e
N_TRADES = 60  # three pages of 25
DASH = "\u2013"  # the pager writes ranges with an en dash
DAYS = 5


async def new_account(gateway: Server) -> tuple[str, str, str]:
    """(user id, username, password) of a fresh trader."""
    name, password = f"web{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    async with gateway.client(gateway.admin_headers) as c:
        r = await c.post(
            "/api/v1/users", json={"username": name, "password": password, "role": "trader"}
        )
        assert r.status_code == 201, r.text
        return r.json()["id"], name, password


def hourly_trades(n: int) -> list[dict[str, Any]]:
    """Trades of one hour each, every other hour, alternately long and short."""
    out = []
    for i in range(n):
        entry = JAN_2024 + 2 * i * HOUR
        out.append({
            "side": "long" if i % 2 == 0 else "short", "symbol": "BTCUSDT",
            "entry_time_ms": entry, "exit_time_ms": entry + HOUR,
            "entry_price": 100.0 + i, "exit_price": 101.0 + i, "qty": 0.5, "fees": 0.1,
            "pnl": 0.4 if i % 3 else -0.6, "exit_reason": "signal",
        })  # fmt: skip
    return out


async def play_the_runner(db: Database, job_id: str, user_id: str) -> None:
    """Store a succeeded result as the runner's job handler does."""
    job = BacktestJob.model_validate((await db.backtests.find_one({"_id": job_id}))["job"])
    times = JAN_2024 + np.arange(DAYS * 24, dtype=np.int64) * HOUR
    equity = 10_000 + 300 * np.sin(np.arange(len(times)) / 9)
    result = {
        "metrics": {"sharpe": 1.25, "total_return": 0.031, "max_drawdown": 0.05},
        "trades": hourly_trades(N_TRADES),
        "final_equity": float(equity[-1]),
        "equity_curve": {"open_time_ms": times, "equity": equity},
    }
    await backtest_trades.store(db, job_id, user_id, result["trades"])
    await db.backtest_results.insert_one(result_document(job, result, "d" * 64, 9, False))
    await db.backtests.update_one({"_id": job_id}, {"$set": {"status": "succeeded"}})


async def canvas_sizes(page: Page, chart: str) -> list[tuple[int, int]]:
    sizes = await page.eval_on_selector_all(
        f"#{chart} canvas", "els => els.map(e => [e.width, e.height])"
    )
    return [tuple(s) for s in sizes]


# Milliseconds from the navigation's start until the sign-in form can be typed into (its
# input is in the page and enabled), recorded by the page itself: no test-side latency.
INTERACTIVE_PROBE = """
new MutationObserver((_, obs) => {
  const input = document.querySelector("input[name=username]");
  if (input && !input.disabled) { window.__kwontInteractive = performance.now(); obs.disconnect(); }
}).observe(document, { childList: true, subtree: true });
"""


async def test_sign_in_submit_watch_and_read_a_backtest(
    gateway: Server,
    db: Database,
    producer: EventProducer,
    web_dist: Path,
    browser: Browser,
    tmp_path: Path,
) -> None:
    user_id, name, password = await new_account(gateway)
    page = await browser.new_page(viewport={"width": 1280, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.add_init_script(INTERACTIVE_PROBE)

    # Signed out, any page leads to the sign-in form.
    await page.goto(f"{gateway.base_url}/backtests")
    await expect(page).to_have_url(f"{gateway.base_url}/login")
    tti = await page.evaluate("window.__kwontInteractive")
    assert isinstance(tti, int | float) and tti > 0, tti
    print(f"time to interactive (first page, sign-in form usable): {tti:.0f} ms")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", "wrong password")
    await page.click("button[type=submit]")
    await expect(page.locator("form .error")).not_to_be_empty()
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await expect(page.locator("#whoami")).to_have_text(name)
    await expect(page.get_by_text("No backtests yet.")).to_be_visible()

    # Submit through the form; the parameters come from the strategy's description.
    await page.click("header >> text=New backtest")
    await page.select_option("select[name=strategy]", "sma_cross")
    await page.fill("#params input[name=fast]", "5")
    await page.fill("#params input[name=slow]", "20")
    await page.select_option("select[name=symbol]", "BTCUSDT")
    await page.fill("input[name=start]", "2024-01-01")
    await page.fill("input[name=end]", "2024-01-06")
    await page.fill("input[name=cash]", "2500.50")
    await page.fill("input[name=fee_bps]", "7")
    await page.click("#submit-form button[type=submit]")
    await page.wait_for_url("**/backtests/bt_*")
    job_id = page.url.rsplit("/", 1)[1]
    stored = await db.backtests.find_one({"_id": job_id, "owner": user_id})
    assert stored is not None, job_id
    job = stored["job"]
    assert job["params"] == {"fast": 5, "slow": 20} and str(job["cash"]) == "2500.50"
    assert job["fee_bps"] == 7 and job["symbols"] == ["BTCUSDT"] and job["interval"] == "1h"

    # Progress over the WebSocket moves the bar; the result event draws the result page.
    await expect(page.locator("#status")).to_have_text("queued")
    # the socket's first message (the stored state) says the server has subscribed
    await expect(page.locator("#progress[data-live=on]")).to_be_attached()
    base = {"event_time": 1, "source": "test", "job_id": job_id}
    await producer.publish(BacktestProgress(**base, stage="running", fraction=0.4))
    await page.wait_for_function("document.querySelector('#progress')?.value === 0.4")
    await play_the_runner(db, job_id, user_id)
    await producer.publish(BacktestResult(**base, status="succeeded", metrics={"sharpe": 1.25}))
    await expect(page.locator("#status")).to_have_text("succeeded", timeout=15_000)
    await expect(page.locator("#metrics")).to_contain_text("sharpe")
    await expect(page.locator("#trades-range")).to_have_text(f" 1{DASH}25 of {N_TRADES} ")
    for chart in ("equity-chart", "candle-chart"):
        sizes = await canvas_sizes(page, chart)
        assert sizes and all(w > 0 and h > 0 for w, h in sizes), (chart, sizes)
        assert max(w for w, _ in sizes) > 600, (chart, sizes)  # drawn across the page
    first_row = page.locator("#trades tbody tr").first
    assert "100.0000" in await first_row.inner_text()
    await page.click("#trades-next")
    await expect(page.locator("#trades-range")).to_have_text(f" 26{DASH}50 of {N_TRADES} ")
    assert "125.0000" in await first_row.inner_text()  # the 26th trade's entry price
    await page.click("#trades-next")
    await expect(page.locator("#trades-range")).to_have_text(f" 51{DASH}60 of {N_TRADES} ")
    await expect(page.locator("#trades-next")).to_be_disabled()
    await page.click("#trades-prev")
    await expect(page.locator("#trades-range")).to_have_text(f" 26{DASH}50 of {N_TRADES} ")
    async with page.expect_download() as download:
        await page.click("#download-csv")
    saved = Path(await (await download.value).path())
    csv = (await asyncio.to_thread(saved.read_text)).splitlines()
    assert len(csv) == N_TRADES + 1 and "entry_price" in csv[0]
    async with page.expect_download() as download:
        await page.click("#download-json")
    saved = Path(await (await download.value).path())
    result = json.loads(await asyncio.to_thread(saved.read_text))
    assert result["trade_count"] == N_TRADES and result["metrics"]["sharpe"] == 1.25
    shot = screenshot_path("result.png")
    await page.locator("main").screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    box = await page.locator("main").bounding_box()
    assert box is not None
    top = {"x": box["x"], "y": box["y"], "width": box["width"], "height": 1180}
    await page.screenshot(path=str(screenshot_path("readme/result.png")), clip=top)

    # The list shows it with its metrics, sorted by a column on click.
    await page.click("header >> text=Backtests")
    row = page.locator("#backtests tbody tr").first
    await expect(row).to_contain_text("succeeded")
    await expect(row).to_contain_text("1.25")
    await page.click("#backtests th >> text=Sharpe")
    await expect(page.locator("#backtests th.sortable", has_text="Sharpe")).to_contain_text("▼")

    # An expired access token is refreshed (the refresh token rotates) without a sign-in.
    before = await page.evaluate("JSON.parse(sessionStorage.getItem('kwont.session'))")
    await page.evaluate(
        "s => sessionStorage.setItem('kwont.session', JSON.stringify({...s, expiresAt: 0}))",
        before,
    )
    await page.goto(f"{gateway.base_url}/backtests/{job_id}")
    await expect(page.locator("#status")).to_have_text("succeeded")
    after = await page.evaluate("JSON.parse(sessionStorage.getItem('kwont.session'))")
    assert after["refresh"] != before["refresh"] and after["expiresAt"] > 0

    # Signing out revokes the refresh token and leads back to the form.
    await page.click("#sign-out")
    await expect(page).to_have_url(f"{gateway.base_url}/login")
    async with gateway.client() as c:
        r = await c.post("/api/v1/auth/refresh", json={"refresh_token": after["refresh"]})
        assert r.status_code == 401
    assert errors == []
