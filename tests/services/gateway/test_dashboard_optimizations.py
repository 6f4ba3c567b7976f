"""The dashboard's grid search pages in chromium: submit a grid through the form, watch the
shards' progress, then read the ranking, the heatmap over two parameters, the overfitting
guards of the winner and the walk-forward windows.

The runner is played with kwont_quant's own evaluation, guards and walk-forward, stored as
the runner stores them (tests/e2e covers the runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from kwont_common.mongo import Database
from kwont_quant import BacktestConfig
from kwont_quant.optimize import evaluate
from kwont_quant.synthetic import gbm_ohlcv
from kwont_quant.walkforward import walk_forward
from tests.services.gateway.dashboard_pages import new_account, signed_in
from tests.services.gateway.factories import Server

pytestmark = pytest.mark.e2e
FAST = [5, 10, 15]
SLOW = [30, 60]
WINDOWS = 3


async def play_the_runner(db: Database, opt_id: str, user_id: str) -> list[dict[str, Any]]:
    """Evaluate the grid's one shard and its walk-forward on synthetic candles; store both."""
    opt = await db.optimizations.find_one({"_id": opt_id})
    assert opt is not None
    (shard,) = opt["job_ids"]
    candles, config = gbm_ohlcv(3000, seed=8), BacktestConfig(fee_bps=10)
    sets = (await db.backtests.find_one({"_id": shard}))["job"]["param_sets"]
    rows = [
        dict(e.to_dict(), index=i, moments=e.moments.tolist())  # type: ignore[union-attr]
        for i, e in enumerate(evaluate("sma_cross", sets, candles, config))
    ]
    await db.backtest_results.insert_one({"_id": shard, "owner": user_id, "ranking": rows})
    await db.backtests.update_one({"_id": shard}, {"$set": {"status": "succeeded"}})
    wf = walk_forward("sma_cross", {"fast": FAST, "slow": SLOW}, candles, config, windows=WINDOWS)
    wf_job = opt["walk_forward_job_id"]
    await db.backtest_results.insert_one(
        {"_id": wf_job, "owner": user_id, "walk_forward": wf.to_dict()}
    )
    await db.backtests.update_one({"_id": wf_job}, {"$set": {"status": "succeeded"}})
    return rows


async def test_submit_a_grid_and_read_its_ranking_heatmap_and_guards(
    gateway: Server, db: Database, web_dist: Path, browser: Browser, tmp_path: Path
) -> None:
    user_id, name, password = await new_account(gateway)
    page, errors = await signed_in(browser, gateway, name, password)

    await page.click("header >> text=Grid searches")
    await expect(page.get_by_text("No grid searches yet.")).to_be_visible()
    await page.click("main >> text=+ new")
    await page.select_option("select[name=strategy]", "sma_cross")
    await page.fill("#grid input[name=fast]", ",".join(map(str, FAST)))
    await page.fill("#grid input[name=slow]", "30:60:30")
    await page.fill("input[name=start]", "2024-01-01")
    await page.fill("input[name=end]", "2024-01-06")
    await page.fill("input[name=wf_windows]", str(WINDOWS))
    await page.click("#optimize-form button[type=submit]")
    await page.wait_for_url("**/optimizations/opt_*")
    opt_id = page.url.rsplit("/", 1)[1]
    opt = await db.optimizations.find_one({"_id": opt_id, "owner": user_id})
    assert opt is not None and opt["combinations"] == len(FAST) * len(SLOW)
    assert opt["walk_forward"]["windows"] == WINDOWS
    await expect(page.locator("#status")).to_have_text("queued")
    await expect(page.locator("#guards")).to_contain_text("once every shard has succeeded")

    # The runner's answer: the page (polling) draws the ranking, heatmap, guards, windows.
    rows = await play_the_runner(db, opt_id, user_id)
    await expect(page.locator("#status")).to_have_text("succeeded", timeout=10_000)
    await expect(page.locator("#ranking tbody tr")).to_have_count(len(rows))
    best = max(rows, key=lambda r: r["score"] if r["score"] is not None else -1e300)
    first = page.locator("#ranking tbody tr").first
    await expect(first).to_contain_text(f"{best['score']:.4f}")
    await expect(page.locator("#heatmap .hm-cell")).to_have_count(len(FAST) * len(SLOW))
    cell = page.locator(
        f"#heatmap .hm-cell[data-x='{best['params']['fast']}'][data-y='{best['params']['slow']}']"
    )
    await expect(cell).to_have_text(f"{best['score']:.2f}")
    shown = (await db.optimizations.find_one({"_id": opt_id}))["guards"]
    for key in ("psr", "dsr", "pbo"):
        row = page.locator(f"#guards tr[data-guard={key}]")
        await expect(row).to_contain_text(f"{shown[key]:.3f}")
    await expect(page.locator("#guards tr[data-guard=pbo]")).to_contain_text("random pick")
    await expect(page.locator("#walk-forward tbody tr")).to_have_count(WINDOWS + 1)  # + mean
    # Swapping the axes redraws the heatmap with slow across.
    await page.select_option("select[name=hm-x]", "slow")
    await expect(page.locator("select[name=hm-y]")).to_have_value("fast")
    await expect(page.locator("#heatmap .hm-label").last).to_have_text(str(SLOW[-1]))
    await page.screenshot(path=str(tmp_path / "optimization.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'optimization.png'}")

    await page.click("header >> text=Grid searches")
    await expect(page.locator("#optimizations tbody tr")).to_contain_text("succeeded")
    assert errors == []
