"""Checking uploaded strategy code inside the sandbox.

The gateway stores each uploaded version with ``check.status = "pending"``. Runner replicas
claim pending versions atomically (``pending`` -> ``checking``), load the file in a sandbox
(it compiles, exposes one strategy class, its parameters are described) and store the
description (``valid``) or the error (``invalid``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
from pathlib import Path
from typing import Any

from kwont_backtest_runner.outcomes import Failed
from kwont_backtest_runner.sandbox import Sandbox
from kwont_common.mongo import Database

log = logging.getLogger(__name__)
POLL_S = 1.0
STALE_CHECK = dt.timedelta(minutes=5)  # a claim older than this is retried (runner died)


async def claim(db: Database, runner: str) -> tuple[str, int, int, str] | None:
    """Claim one pending (or stale) version: ``(strategy id, index, version, code)`` or None.

    A compare-and-set on the version's array index (no positional operator: SecantusDB does
    not resolve ``$`` against ``$elemMatch``), so two replicas never check the same version.
    """
    now = dt.datetime.now(dt.UTC)
    # Only documents holding a claimable version: versions other runners are checking right
    # now would otherwise fill the page and hide a pending one behind them.
    claimable = {"$or": [
        {"versions.check.status": "pending"},
        {"versions": {"$elemMatch": {"check.status": "checking",
                                     "check.claimed_at": {"$lt": now - STALE_CHECK}}}},
        {"versions": {"$elemMatch": {"check.status": "checking",
                                     "check.claimed_at": {"$exists": False}}}},
    ]}  # fmt: skip
    candidates = db.strategies.find(claimable)
    async for doc in candidates.limit(20):
        for i, v in enumerate(doc.get("versions") or []):
            check = v.get("check") or {}
            claimed_at = check.get("claimed_at")
            stale = check.get("status") == "checking" and (
                claimed_at is None or claimed_at < now - STALE_CHECK
            )
            if check.get("status") != "pending" and not stale:
                continue
            won = await db.strategies.update_one(
                {"_id": doc["_id"], f"versions.{i}.version": v["version"],
                 f"versions.{i}.check.status": check["status"]},
                {"$set": {f"versions.{i}.check.status": "checking",
                          f"versions.{i}.check.runner": runner,
                          f"versions.{i}.check.claimed_at": now}},
            )  # fmt: skip
            if won.modified_count == 1:
                return doc["_id"], i, int(v["version"]), str(v["code"])
    return None


async def check_once(db: Database, sandbox: Sandbox, runner: str) -> bool:
    """Check one claimed version; False when nothing was pending."""
    claimed = await claim(db, runner)
    if claimed is None:
        return False
    strategy_id, index, version, code = claimed
    with tempfile.TemporaryDirectory(prefix="kwont-check-") as tmp:
        path = await asyncio.to_thread(write_strategy, Path(tmp), code)
        outcome = await asyncio.to_thread(sandbox.describe, path)
    check: dict[str, Any]
    if isinstance(outcome, Failed):
        error = outcome.reason + (f"\n{outcome.traceback}" if outcome.traceback else "")
        check = {"status": "invalid", "error": error}
    else:
        check = {"status": "valid", "description": outcome.result.get("strategy")}
    check["checked_at"] = dt.datetime.now(dt.UTC)
    await db.strategies.update_one(
        {"_id": strategy_id, f"versions.{index}.version": version},
        {"$set": {f"versions.{index}.check": check}},
    )
    log.info("strategy %s v%d is %s", strategy_id, version, check["status"])
    return True


def write_strategy(folder: Path, code: str) -> Path:
    """The strategy file as the sandbox user (another uid) can read it, mounted read-only."""
    path = folder / "strategy.py"
    path.write_text(code)
    path.chmod(0o644)
    folder.chmod(0o755)
    return path


def checker(db: Database, sandbox: Sandbox, runner: str) -> Any:
    """The service task: check pending uploads until stopped."""

    async def check_uploads(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await check_once(db, sandbox, runner)
            except Exception:  # a broken check must not stop the runner; retried after a pause
                log.exception("strategy check failed")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=POLL_S)

    return check_uploads
