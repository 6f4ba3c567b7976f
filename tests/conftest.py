"""Engines for integration tests come from the devstack pytest plugin: each fixture starts
its own tansu / SecantusDB / Redis / dockerd on free ports, never the `make up` stack."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

pytest_plugins = ["kwont_devstack.pytest_plugin"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sandbox_image(docker_engine: str) -> str:
    """kwont/sandbox:latest, built (or found up to date) by scripts/build-sandbox-image.sh."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "scripts" / "build-sandbox-image.sh")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"image build failed:\n{proc.stderr[-4000:]}"
    print(f"sandbox image ready in {time.monotonic() - started:.1f}s")
    return "kwont/sandbox:latest"
