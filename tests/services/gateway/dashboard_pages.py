"""What the dashboard's browser tests share: an account, a signed-in page, and the runner's
part of a strategy upload played with the runner's own loader."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from kwont_common.mongo import Database
from kwont_quant.loader import StrategyLoadError, describe_strategy, load_strategy
from tests.services.gateway.factories import Server

SHOTS = Path(__file__).resolve().parents[3] / ".run" / "screenshots"


def screenshot_path(name: str) -> Path:
    """Where a browser test saves a page's screenshot: `.run/screenshots/` (artifacts, not
    committed); `readme/` holds the README's pictures, copied to docs/img/ (docs/img/README.md)."""
    path = SHOTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


async def new_account(gateway: Server, role: str = "trader") -> tuple[str, str, str]:
    """(user id, username, password) of a fresh user."""
    name, password = f"web{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    async with gateway.client(gateway.admin_headers) as c:
        r = await c.post(
            "/api/v1/users", json={"username": name, "password": password, "role": role}
        )
        assert r.status_code == 201, r.text
        return r.json()["id"], name, password


async def signed_in(
    browser: Browser, gateway: Server, name: str, password: str
) -> tuple[Page, list[str]]:
    """A page signed in as `name`, and the list its uncaught errors go to."""
    page = await browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{gateway.base_url}/login")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await expect(page.locator("#whoami")).to_have_text(name)
    return page, errors


def check_of(code: str) -> dict[str, Any]:
    """The check a backtest-runner stores for `code`: the loader's description or error."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "strategy.py"
        path.write_text(code)
        try:
            return {"status": "valid", "description": describe_strategy(load_strategy(path))}
        except StrategyLoadError as exc:
            return {"status": "invalid", "error": str(exc)}


async def play_the_checker(db: Database, strategy_id: str) -> dict[str, Any]:
    """Check the latest version as the runner does (its sandbox loads the same way)."""
    doc = await db.strategies.find_one({"_id": strategy_id})
    assert doc is not None, strategy_id
    index = len(doc["versions"]) - 1
    check = {**check_of(doc["versions"][index]["code"]), "checked_at": dt.datetime.now(dt.UTC)}
    await db.strategies.update_one(
        {"_id": strategy_id}, {"$set": {f"versions.{index}.check": check}}
    )
    return check
