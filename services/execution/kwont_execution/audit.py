"""Every venue request and its response, in ``execution_audit`` (paper too: the order in,
the fills and updates out; a candle in, the protective exit out).

Document: ``time`` (epoch ms, when recorded), ``venue``, ``account``, ``symbol``,
``client_order_id``, ``correlation_id``, ``request`` and ``response`` (JSON-able, as sent
and received). The Binance venue records each REST call the same way.
"""

from __future__ import annotations

import time
from typing import Any

from kwont_common.mongo import Database

COLLECTION = "execution_audit"


async def ensure_indexes(db: Database) -> None:
    """Look-ups by client order id and by account over time. Idempotent."""
    await db[COLLECTION].create_index("client_order_id", name="client_order_id")
    await db[COLLECTION].create_index([("account", 1), ("time", -1)], name="account_time")


async def record(
    db: Database,
    *,
    venue: str,
    account: str,
    symbol: str,
    client_order_id: str | None,
    request: Any,
    response: Any,
    correlation_id: str | None = None,
) -> None:
    """Append one request/response pair.

    Raises:
        pymongo.errors.PyMongoError: the write failed.
    """
    await db[COLLECTION].insert_one(
        {
            "time": time.time_ns() // 1_000_000,
            "venue": venue,
            "account": account,
            "symbol": symbol,
            "client_order_id": client_order_id,
            "correlation_id": correlation_id,
            "request": request,
            "response": response,
        }
    )
