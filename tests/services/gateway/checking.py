"""The backtest-runner's claim of uploaded versions (its real code, on the gateway's
database), so tests reach the ``checking`` state the uploader sees while a check runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from kwont_backtest_runner.checks import claim
from kwont_common.mongo import Database

RUNNER = "test-runner"


async def release(db: Database, claimed: list[tuple[str, int]]) -> None:
    """Put versions this module claimed back to ``pending``, as they were before."""
    for ident, index in claimed:
        await db.strategies.update_one(
            {"_id": ident, f"versions.{index}.check.runner": RUNNER},
            {
                "$set": {f"versions.{index}.check.status": "pending"},
                "$unset": {
                    f"versions.{index}.check.runner": "",
                    f"versions.{index}.check.claimed_at": "",
                },
            },
        )


async def claim_until(db: Database, strategy_id: str) -> None:
    """Let the runner's claim take versions until it takes ``strategy_id``'s; the others it
    took (other tests' uploads in the session database) go back to pending."""
    others: list[tuple[str, int]] = []
    try:
        for _ in range(10_000):
            claimed = await claim(db, RUNNER)
            assert claimed is not None, f"the runner found no pending version of {strategy_id}"
            if claimed[0] == strategy_id:
                return
            others.append((claimed[0], claimed[1]))
        raise AssertionError(f"{strategy_id} was never claimed")
    finally:
        await release(db, others)


@contextlib.asynccontextmanager
async def claiming(db: Database, every_s: float = 0.05) -> AsyncIterator[list[tuple[str, int]]]:
    """While open, a runner claims every uploaded version soon after it is stored (and never
    finishes the check, so each stays ``checking``); on exit they go back to pending."""
    claimed: list[tuple[str, int]] = []

    async def loop() -> None:
        while True:
            got = await claim(db, RUNNER)
            if got is None:
                await asyncio.sleep(every_s)
            else:
                claimed.append((got[0], got[1]))

    task = asyncio.create_task(loop())
    try:
        yield claimed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await release(db, claimed)
