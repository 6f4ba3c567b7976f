"""Candles and funding rates from MongoDB's bucket collections, read with the sandbox's
read-only user (formats: ``kwont_ohlcv`` and ``kwont_ohlcv.funding``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from kwont_ohlcv import concat, funding, range_filter
from kwont_quant import Candles, DataError
from kwont_sandbox.job import SandboxJob

_TIMEOUT_MS = 10_000


def load_candles(
    job: SandboxJob, on_symbol: Callable[[int, int], None] | None = None
) -> dict[str, Candles]:
    """``{symbol: Candles}`` for the job's symbols, interval and ``[start_time, end_time)``.

    Raises:
        DataError: a symbol has no candles in the range, or its candles are invalid.
        pymongo.errors.PyMongoError: MongoDB unreachable or the credentials refused.
    """
    assert job.mongo is not None
    out: dict[str, Candles] = {}
    # directConnection: the sandbox reaches MongoDB only through one relay address, so it
    # must not follow the replica-set member list the server advertises.
    client: MongoClient[dict[str, Any]]
    with MongoClient(
        job.mongo.uri,
        directConnection=True,
        serverSelectionTimeoutMS=_TIMEOUT_MS,
        connectTimeoutMS=_TIMEOUT_MS,
        readPreference="secondaryPreferred",
        appname="kwont-sandbox",
    ) as client:
        coll: Collection[dict[str, Any]] = client[job.mongo.db][job.mongo.collection]
        for k, symbol in enumerate(job.symbols):
            flt = range_filter(symbol, job.interval, job.start_time, job.end_time)
            docs = list(coll.find(flt))
            cols = concat(docs, job.start_time, job.end_time)
            if cols["open_time"].shape[0] == 0:
                raise DataError(
                    f"no {job.interval} candles for {symbol} in [{job.start_time}, {job.end_time})"
                )
            try:
                out[symbol] = Candles.from_arrays(
                    cols["open_time"].astype(np.int64),
                    cols["open"],
                    cols["high"],
                    cols["low"],
                    cols["close"],
                    cols["volume"],
                )
            except DataError as exc:
                raise DataError(f"{symbol} {job.interval}: {exc}") from exc
            if on_symbol:
                on_symbol(k + 1, len(job.symbols))
    return out


def read_funding(
    db: Database[dict[str, Any]], symbol: str, start: int, end: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``(times, rates)`` of ``symbol``'s funding with times in ``[start, end)`` epoch ms,
    from collection ``funding`` of ``db`` (the ``ohlcv`` database): int64 epoch ms (whole
    minutes) and float64 rates per funding interval, sorted by time; empty arrays when none
    is stored.

    Raises:
        pymongo.errors.PyMongoError: MongoDB unreachable or the credentials refused.
    """
    docs = list(db[funding.COLLECTION].find(funding.range_filter(symbol, start, end)))
    return funding.times_and_rates(funding.concat(docs, start, end))
