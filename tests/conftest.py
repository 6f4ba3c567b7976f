"""Engines for integration tests come from the devstack pytest plugin: each fixture starts
its own tansu / SecantusDB / Redis / dockerd on free ports, never the `make up` stack."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytest_plugins = ["kwont_devstack.pytest_plugin"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sandbox_image(docker_engine: str) -> str:
    """kwont/sandbox:latest (or $KWONT_SANDBOX_IMAGE, e.g. one tag per worktree when several
    share a Docker engine), built (or found up to date) by scripts/build-sandbox-image.sh."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "scripts" / "build-sandbox-image.sh")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"image build failed:\n{proc.stderr[-4000:]}"
    print(f"sandbox image ready in {time.monotonic() - started:.1f}s")
    return os.environ.get("KWONT_SANDBOX_IMAGE", "kwont/sandbox:latest")


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, built (or found up to date) by scripts/build-web.sh; the gateway serves it."""
    proc = subprocess.run(
        [str(ROOT / "scripts" / "build-web.sh")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"web build failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}"
    assert (ROOT / "web" / "dist" / "index.html").is_file()
    return ROOT / "web" / "dist"


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (Playwright cannot download its own browsers here)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: make bootstrap installs chromium")
    return str(CHROMIUM)


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """Headless chromium driven by Playwright."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            yield b
        finally:
            await b.close()
