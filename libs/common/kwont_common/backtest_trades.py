"""Trade lists of backtest results, stored apart from the result document.

The runner writes them, the gateway pages them. A one-year 1-minute ``sma_cross`` has
16.7k trades (about 6 MB as JSON); inside ``backtest_results`` they made every result read
that large. Here they live in ``backtest_trades``, in chunks of :data:`CHUNK` trades in
order (``_id`` = ``<job_id>:<seq>``, index ``job_id`` + ``seq``), so a page of trades
reads one or two small documents and the result document stays small. A result answered
from the cache (``alias_of``) has no chunks of its own: its trades are those of the job it
points to.
"""

from __future__ import annotations

from typing import Any

from kwont_common.mongo import Database

COLLECTION = "backtest_trades"
CHUNK = 1000
INDEX_KEYS = [("job_id", 1), ("seq", 1)]
INDEX_NAME = "job_seq"


def chunk_documents(job_id: str, owner: str, trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``backtest_trades`` documents of one job's trade list, in order."""
    return [
        {
            "_id": f"{job_id}:{seq:06d}",
            "job_id": job_id,
            "owner": owner,
            "seq": seq,
            "trades": trades[seq * CHUNK : (seq + 1) * CHUNK],
        }
        for seq in range(-(-len(trades) // CHUNK))
    ]


async def ensure_index(db: Database) -> None:
    """Create the index pages are read by (idempotent). Raises pymongo errors on failure."""
    await db[COLLECTION].create_index(INDEX_KEYS, unique=True, name=INDEX_NAME)


async def store(db: Database, job_id: str, owner: str, trades: list[dict[str, Any]]) -> None:
    """Write a job's trades. Idempotent: a redelivered job rewrites the same chunks (keyed by
    job and position), so two runners finishing the same job leave one copy."""
    for doc in chunk_documents(job_id, owner, trades):
        await db[COLLECTION].replace_one({"_id": doc["_id"]}, doc, upsert=True)


async def page(db: Database, job_id: str, offset: int, limit: int) -> list[dict[str, Any]]:
    """Trades ``offset`` to ``offset + limit`` (fewer at the end) of a job, in order."""
    first, last = offset // CHUNK, (offset + max(limit, 1) - 1) // CHUNK
    cursor = (
        db[COLLECTION]
        .find({"job_id": job_id, "seq": {"$gte": first, "$lte": last}}, {"trades": 1, "seq": 1})
        .sort("seq", 1)
    )
    items: list[dict[str, Any]] = []
    async for doc in cursor:
        items.extend(doc.get("trades") or [])
    start = offset - first * CHUNK
    return items[start : start + limit]
