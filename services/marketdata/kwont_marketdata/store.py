"""Candles in MongoDB (db ``ohlcv``, collection ``candles``) as period buckets; idempotent.

The bucket format is kwont_ohlcv's; this module does the I/O with PyMongo async.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReplaceOne

import kwont_ohlcv as ohlcv
from kwont_common.mongo import Database

COLLECTION = "candles"


async def ensure_indexes(db: Database) -> None:
    """Create the unique (symbol, interval, period_start) index; idempotent."""
    await db[COLLECTION].create_index(ohlcv.INDEX_KEYS, unique=True, name=ohlcv.INDEX_NAME)


async def upsert(
    db: Database, symbol: str, interval: str, columns: ohlcv.Columns, feed: str
) -> int:
    """Merge candles into their buckets (a candle already stored is replaced by the new one,
    so loading the same data twice changes nothing). Returns the number of buckets written.

    Raises:
        ValueError: columns unsorted, of unequal length, or an unknown interval.
        pymongo.errors.PyMongoError: the write failed.
    """
    parts = list(ohlcv.split_by_period(interval, columns))
    if not parts:
        return 0
    ids = [f"{symbol}:{interval}:{start}" for start, _ in parts]
    existing = {d["_id"]: d async for d in db[COLLECTION].find({"_id": {"$in": ids}})}
    writes = []
    for bucket_id, (_, part) in zip(ids, parts, strict=True):
        old = existing.get(bucket_id)
        merged = ohlcv.merge(ohlcv.unpack(old), part) if old else part
        doc = ohlcv.pack(symbol, interval, merged, feed=feed if not old else _feed(old, feed))
        writes.append(ReplaceOne({"_id": bucket_id}, doc, upsert=True))
    await db[COLLECTION].bulk_write(writes, ordered=False)
    return len(writes)


def _feed(old: dict[str, Any], new: str) -> str:
    # A bucket mixing sources says so, so synthetic data is never mistaken for real data.
    return new if old.get("feed") == new else "mixed"


async def read_range(
    db: Database, symbol: str, interval: str, start_ms: int, end_ms: int
) -> ohlcv.Columns:
    """Candles with open time in ``[start_ms, end_ms)``, sorted."""
    docs = (
        await db[COLLECTION]
        .find(ohlcv.range_filter(symbol, interval, start_ms, end_ms))
        .to_list(None)
    )
    return ohlcv.concat(docs, start_ms, end_ms)


async def last(db: Database, symbol: str, interval: str) -> dict[str, float] | None:
    """The newest stored candle of ``symbol``/``interval`` (column name -> value), or None."""
    doc = await db[COLLECTION].find_one(
        {"symbol": symbol, "interval": interval}, sort=[("period_start", -1)]
    )
    if doc is None:
        return None
    cols = ohlcv.unpack(doc)
    return {c: float(cols[c][-1]) for c in ohlcv.COLUMNS}


async def summary(db: Database) -> list[dict[str, Any]]:
    """Per (symbol, interval): buckets, candles, first and last open time, feeds."""
    pipeline: list[dict[str, Any]] = [
        {
            "$group": {
                "_id": {"symbol": "$symbol", "interval": "$interval"},
                "buckets": {"$sum": 1},
                "candles": {"$sum": "$count"},
                "first": {"$min": "$first_open_time"},
                "last": {"$max": "$last_open_time"},
                "feeds": {"$addToSet": "$feed"},
            }
        },
        {"$sort": {"_id.symbol": 1, "_id.interval": 1}},
    ]
    return [{**row.pop("_id"), **row} async for row in await db[COLLECTION].aggregate(pipeline)]
