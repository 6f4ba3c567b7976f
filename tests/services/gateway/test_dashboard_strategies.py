"""The dashboard's strategy pages in chromium: upload a file, watch its check, see a failed
check's line marked in the highlighted source, upload a fixed version, read its declared
parameters and submit a backtest of it from the backtest form.

The runner's check is played with the runner's own loader (tests/e2e covers the sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from kwont_common.mongo import Database
from tests.services.gateway.dashboard_pages import (
    new_account,
    play_the_checker,
    screenshot_path,
    signed_in,
)
from tests.services.gateway.factories import Server

pytestmark = pytest.mark.e2e

BROKEN = """from kwont_quant import IntParameter, Signals, Strategy

# a comment the highlighter greys out
class Broken(Strategy):
    fast = IntParameter(2, 50, default=10)
    ratio = 1 / 0

    def generate(self, candles):
        return Signals(enter_long=candles.close > 0)
"""
BROKEN_LINE = 6  # the ZeroDivisionError
FIXED = """from kwont_quant import IntParameter, Signals, Strategy, indicators as ta


class MyCross(Strategy):
    \"\"\"Long while the fast average is above the slow one.\"\"\"

    fast = IntParameter(2, 50, default=7, description="fast window")
    slow = IntParameter(5, 200, default=25, description="slow window")

    def generate(self, candles):
        f, s = ta.sma(candles.close, self.fast), ta.sma(candles.close, self.slow)
        return Signals(enter_long=ta.crossover(f, s), exit_long=ta.crossunder(f, s))
"""


def py_file(name: str, code: str) -> dict[str, object]:
    return {"name": name, "mimeType": "text/x-python", "buffer": code.encode()}


async def test_upload_check_fix_and_backtest_a_strategy(
    gateway: Server, db: Database, web_dist: Path, browser: Browser
) -> None:
    user_id, name, password = await new_account(gateway)
    page, errors = await signed_in(browser, gateway, name, password)

    await page.click("header >> text=Strategies")
    await expect(page.get_by_text("No uploads yet.")).to_be_visible()
    await page.set_input_files("#upload-form input[type=file]", py_file("broken_cross.py", BROKEN))
    await expect(page.locator("#upload-form input[name=name]")).to_have_value("broken_cross")
    await page.click("#upload-form button[type=submit]")
    await page.wait_for_url("**/strategies/*")
    strategy_id = page.url.rsplit("/", 1)[1]
    stored = await db.strategies.find_one({"_id": strategy_id, "owner": user_id})
    assert stored is not None and stored["versions"][0]["code"] == BROKEN
    await expect(page.locator("#check-status")).to_have_text("pending")

    # The runner finds it invalid; the page (polling) marks the line the error names.
    check = await play_the_checker(db, strategy_id)
    assert check["status"] == "invalid" and "ZeroDivisionError" in check["error"]
    await expect(page.locator("#check-status")).to_have_text("invalid")
    marked = page.locator("#source .src-line.marked")
    await expect(marked).to_have_attribute("data-line", str(BROKEN_LINE))
    await expect(marked).to_contain_text("ratio = 1 / 0")
    await expect(page.locator("#source-error")).to_contain_text("ZeroDivisionError")
    await expect(page.locator("#source .tok-keyword", has_text="class")).to_have_count(1)
    await expect(page.locator("#source .tok-comment")).to_contain_text("a comment")
    await expect(page.locator("#source .tok-number").first).to_have_text("2")
    await page.screenshot(path=str(screenshot_path("strategy-invalid.png")), full_page=True)

    # A fixed version: valid, with its declared parameters.
    await page.set_input_files("#version-form input[type=file]", py_file("my_cross.py", FIXED))
    await page.click("#version-form button[type=submit]")
    await expect(page.locator("#check-status")).to_have_text("pending")
    await expect(page.locator("#versions tbody tr")).to_have_count(2)
    assert (await play_the_checker(db, strategy_id))["status"] == "valid"
    await expect(page.locator("#check-status")).to_have_text("valid")
    await expect(page.locator("#source .src-line.marked")).to_have_count(0)
    params = page.locator("#declared-params tbody tr")
    await expect(params).to_have_count(2)
    await expect(params.first).to_contain_text("fast")
    await expect(params.first).to_contain_text("2..50")
    await expect(page.locator("#versions tbody tr").last).to_contain_text("invalid")
    await page.screenshot(path=str(screenshot_path("strategy-valid.png")), full_page=True)
    print(f"screenshots: {screenshot_path('')}")

    # The older version's source, from the API's versions route, with its check's line.
    await page.click("#versions button.show-version[data-version='1']")
    await expect(page.locator("#source-title")).to_contain_text("v1, an older version")
    await expect(page.locator("#source .src-line.marked")).to_contain_text("ratio = 1 / 0")
    await expect(page.locator("#source")).not_to_contain_text("class MyCross")
    await page.click("#versions button.show-version[data-version='2']")
    await expect(page.locator("#source-title")).to_contain_text("latest version")
    await expect(page.locator("#source")).to_contain_text("class MyCross")

    # The backtest form has it preselected, with its parameters.
    await page.click("text=Run a backtest of it")
    await expect(page.locator("select[name=strategy]")).to_have_value(strategy_id)
    await expect(page.locator("#params input[name=fast]")).to_have_value("7")
    await page.fill("#params input[name=slow]", "30")
    await page.fill("input[name=start]", "2024-01-01")
    await page.fill("input[name=end]", "2024-01-06")
    await page.click("#submit-form button[type=submit]")
    await page.wait_for_url("**/backtests/bt_*")
    job = (await db.backtests.find_one({"_id": page.url.rsplit("/", 1)[1]}))["job"]
    assert job["strategy"]["name"] == strategy_id and job["strategy"]["builtin"] is False
    assert job["strategy"]["version"] == 2 and job["params"] == {"fast": 7, "slow": 30}

    # The list shows the upload with its latest check.
    await page.click("header >> text=Strategies")
    await expect(page.locator("#strategies tbody tr")).to_contain_text("valid")
    assert errors == []
