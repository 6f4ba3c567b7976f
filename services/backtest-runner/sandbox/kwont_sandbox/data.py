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
from kwont_quant import Candles, DataError, FundingRates
from kwont_sandbox.job import SandboxJob

_TIMEOUT_MS = 10_000


def _client(job: SandboxJob) -> MongoClient[dict[str, Any]]:
    assert job.mongo is not None
    return MongoClient(
        job.mongo.uri,
        directConnection=True,
        serverSelectionTimeoutMS=_TIMEOUT_MS,
        connectTimeoutMS=_TIMEOUT_MS,
        readPreference="secondaryPreferred",
        appname="kwont-sandbox",
    )


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
    with _client(job) as client:
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
    is stored (:func:`read_funding_rows` adds the mark prices).

    Raises:
        pymongo.errors.PyMongoError: MongoDB unreachable or the credentials refused.
    """
    rows = read_funding_rows(db, symbol, start, end)
    return rows.times, rows.rates


def read_funding_rows(
    db: Database[dict[str, Any]], symbol: str, start: int, end: int
) -> FundingRates:
    """Like :func:`read_funding`, with the mark prices (NaN where the source had none).

    Raises:
        pymongo.errors.PyMongoError: MongoDB unreachable or the credentials refused.
    """
    docs = list(db[funding.COLLECTION].find(funding.range_filter(symbol, start, end)))
    cols = funding.concat(docs, start, end)
    times, rates = funding.times_and_rates(cols)
    return FundingRates(times, rates, np.array(cols["mark_price"], dtype=np.float64))


def load_funding(job: SandboxJob, symbols: list[str]) -> dict[str, FundingRates]:
    """``{symbol: FundingRates}`` of the job's range, read with the read-only user.

    Raises:
        DataError: a symbol has no funding stored in the range.
        pymongo.errors.PyMongoError: MongoDB unreachable or the credentials refused.
    """
    assert job.mongo is not None
    out: dict[str, FundingRates] = {}
    with _client(job) as client:
        db = client[job.mongo.db]
        for symbol in symbols:
            rows = read_funding_rows(db, symbol, job.start_time, job.end_time)
            if len(rows) == 0:
                raise DataError(
                    f"funding is on but no funding rates are stored for {symbol} in "
                    f"[{job.start_time}, {job.end_time}): load them with `kwont-marketdata "
                    f"funding load --symbol {symbol} --start ... --end ...` (or `funding "
                    "import` of Binance's CSV; `kwont-marketdata seed-demo` for the demo "
                    "market), or run with funding off"
                )
            out[symbol] = rows
    return out
