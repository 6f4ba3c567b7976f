"""Indexes of the gateway's collections (idempotent; created at start-up)."""

from __future__ import annotations

from kwont_common import backtest_trades
from kwont_common.mongo import Database


async def ensure_indexes(db: Database) -> None:
    """Create the indexes the API's queries use. Raises pymongo errors on failure."""
    await db.users.create_index("username", unique=True, name="username")
    await db.refresh_tokens.create_index("user", name="user")
    await db.api_keys.create_index("owner", name="owner")
    await db.audit_log.create_index([("at", -1), ("_id", -1)], name="at")
    await db.strategies.create_index([("owner", 1), ("created_at", -1)], name="owner_created")
    await db.backtests.create_index([("owner", 1), ("submitted_at", -1)], name="owner_submitted")
    await backtest_trades.ensure_index(db)
    await db.optimizations.create_index(
        [("owner", 1), ("submitted_at", -1)], name="owner_submitted"
    )
    await db.symbols.create_index("symbol", unique=True, name="symbol")
    await db.deployments.create_index([("owner", 1), ("created_at", -1)], name="owner_created")
    for name in ("orders", "fills"):
        await db[name].create_index([("owner", 1), ("event_time", -1)], name="owner_time")
    await db.portfolios.create_index("owner", name="owner")
    for name in ("orders", "fills", "risk_rejections"):  # trails (trails.py)
        await db[name].create_index([("owner", 1), ("correlation_id", 1)], name="owner_corr")
