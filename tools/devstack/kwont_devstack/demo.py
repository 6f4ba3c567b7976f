"""The demo paper deployment ``make up`` starts: sma_cross on the synthetic BTCUSDT feed,
account ``demo-paper``, owned by the admin, created through the gateway's own API (so the
demo also proves the API path). Idempotent: a running demo deployment is left alone."""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

DEMO_ACCOUNT = "demo-paper"
DEMO_DEPLOYMENT = {
    "account": DEMO_ACCOUNT,
    "strategy": "sma_cross",
    "params": {"fast": 5, "slow": 20},
    "symbols": ["BTCUSDT"],
    "interval": "1m",
    "venue": "paper",
}


def admin_password(run_dir: Path) -> str | None:
    """KWONT_ADMIN_PASSWORD, or the one the gateway generated into the run dir."""
    if os.environ.get("KWONT_ADMIN_PASSWORD"):
        return os.environ["KWONT_ADMIN_PASSWORD"]
    stored = run_dir / "gateway" / "admin-password"
    return stored.read_text().strip() if stored.exists() else None


def _call(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def ensure_demo_deployment(api: str, run_dir: Path) -> str:
    """Create the demo deployment unless one runs; a line saying what happened."""
    password = admin_password(run_dir)
    if password is None:
        return "demo deployment skipped: no admin password (set KWONT_ADMIN_PASSWORD)"
    form = urllib.parse.urlencode({"username": "admin", "password": password}).encode()
    token = _call(
        f"{api}/api/v1/auth/token",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    running = _call(f"{api}/api/v1/deployments?status=running", headers=auth)
    if any(d["account"] == DEMO_ACCOUNT for d in running):
        return f"demo deployment already running on account {DEMO_ACCOUNT!r}"
    body = json.dumps(DEMO_DEPLOYMENT).encode()
    created = _call(
        f"{api}/api/v1/deployments",
        data=body,
        headers={**auth, "Content-Type": "application/json"},
    )
    return (
        f"demo deployment {created['id']}: sma_cross(5, 20) on the synthetic BTCUSDT 1m feed, "
        f"paper account {DEMO_ACCOUNT!r} (see docs/live-trading.md)"
    )
