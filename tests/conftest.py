"""Engines for integration tests come from the devstack pytest plugin: each fixture starts
its own tansu / SecantusDB / Redis / dockerd on free ports, never the `make up` stack."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytest_plugins = ["kwont_devstack.pytest_plugin", "tests.parallel"]
ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / ".run" / "locks"


@contextmanager
def build_lock(name: str) -> Iterator[None]:
    """Hold the exclusive lock ``.run/locks/<name>.lock`` (fcntl.flock; waits for it)."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_DIR / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def sandbox_image(docker_engine: str) -> str:
    """kwont/sandbox:latest (or $KWONT_SANDBOX_IMAGE, e.g. one tag per worktree when several
    share a Docker engine), built (or found up to date) by scripts/build-sandbox-image.sh."""
    started = time.monotonic()
    with build_lock("sandbox-image"):  # the other xdist worker waits, then finds it up to date
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
    with build_lock("web"):  # the other xdist worker waits, then finds it up to date
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
