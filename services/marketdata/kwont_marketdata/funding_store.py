"""Funding rates in MongoDB (db ``ohlcv``, collection ``funding``), one document per
(symbol, UTC year); idempotent.

The document format is ``kwont_ohlcv.funding``'s; this module does the I/O with PyMongo
async, as store.py does for candles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pymongo import ReplaceOne

from kwont_common.mongo import Database
from kwont_ohlcv import funding
from kwont_ohlcv.packing import Columns

COLLECTION = funding.COLLECTION


async def ensure_indexes(db: Database) -> None:
    """Create the unique (symbol, period_start) index; idempotent."""
    await db[COLLECTION].create_index(funding.INDEX_KEYS, unique=True, name=funding.INDEX_NAME)


async def write_funding(db: Database, symbol: str, cols: Columns, feed: str) -> int:
    """Merge funding rows (``kwont_ohlcv.funding.columns``) into their year documents: a row
    already stored at the same minute is replaced, so writing the same rows twice changes
    nothing. Returns the number of documents written.

    Raises:
        ValueError: columns unsorted or of unequal length.
        pymongo.errors.PyMongoError: the write failed.
    """
    parts = list(funding.split_by_year(cols))
    if not parts:
        return 0
    ids = [funding.doc_id(symbol, start) for start, _ in parts]
    existing = {d["_id"]: d async for d in db[COLLECTION].find({"_id": {"$in": ids}})}
    writes = []
    for doc_id, (_, part) in zip(ids, parts, strict=True):
        old = existing.get(doc_id)
        merged = funding.merge(funding.unpack(old), part) if old else part
        label = feed if old is None or old.get("feed") == feed else "mixed"
        writes.append(ReplaceOne({"_id": doc_id}, funding.pack(symbol, merged, label), upsert=True))
    await db[COLLECTION].bulk_write(writes, ordered=False)
    return len(writes)


async def read_columns(db: Database, symbol: str, start_ms: int, end_ms: int) -> Columns:
    """Funding columns (time, rate, mark price) of ``[start_ms, end_ms)``, sorted."""
    docs = await db[COLLECTION].find(funding.range_filter(symbol, start_ms, end_ms)).to_list(None)
    return funding.concat(docs, start_ms, end_ms)


async def read_funding(
    db: Database, symbol: str, start_ms: int, end_ms: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``(times, rates)`` of ``symbol``'s funding in ``[start_ms, end_ms)``: int64 epoch ms
    (whole minutes) and float64 rates per funding interval, sorted by time."""
    return funding.times_and_rates(await read_columns(db, symbol, start_ms, end_ms))


async def last_time(db: Database, symbol: str) -> int | None:
    """The newest stored funding time of ``symbol``, or None."""
    doc = await db[COLLECTION].find_one(
        {"symbol": symbol}, {"last_time": 1}, sort=[("period_start", -1)]
    )
    return None if doc is None else int(doc["last_time"])


async def coverage(db: Database) -> list[dict[str, Any]]:
    """Per symbol: year documents, funding rows, first and last funding time, feeds."""
    pipeline: list[dict[str, Any]] = [
        {
            "$group": {
                "_id": "$symbol",
                "years": {"$sum": 1},
                "rows": {"$sum": "$count"},
                "first": {"$min": "$first_time"},
                "last": {"$max": "$last_time"},
                "feeds": {"$addToSet": "$feed"},
            }
        },
        {"$sort": {"_id": 1}},
    ]
    rows = [row async for row in await db[COLLECTION].aggregate(pipeline)]
    return [{"symbol": row.pop("_id"), **row} for row in rows]
