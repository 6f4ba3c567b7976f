"""``kwont-marketdata load binance``: kline history from Binance REST into ``ohlcv.candles``.

Every page is fetched and the whole range validated before anything is written, so a refused
load leaves the store as it was. Binance's own history has holes (exchange outages, e.g.
spot on 2018-02-08): a hole is refused with its position unless gaps are allowed, in which
case what Binance has is stored as it is (never filled with made-up candles).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from typing import Any

import numpy as np

import kwont_ohlcv as ohlcv
from kwont_common.mongo import Database
from kwont_marketdata import binance_rest, store
from kwont_marketdata.aggregate import next_open
from kwont_marketdata.binance_models import klines_to_columns

FEEDS: dict[binance_rest.Market, str] = {"spot": "binance", "futures": "binance-futures"}


class GapError(ValueError):
    """Candles missing from the requested range; the message names the first hole."""


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def find_gaps(
    interval: str, open_times: np.ndarray[Any, Any], start_ms: int, end_ms: int, now_ms: int
) -> list[tuple[int, int]]:
    """Missing spans ``[from, to)`` of open times within ``[start_ms, end_ms)``.

    Only candles that should be closed by ``now_ms`` count as missing.

    Raises:
        ValueError: duplicate, unsorted or misaligned open times (named).
    """
    times = [int(t) for t in open_times]
    if not times:
        return [(start_ms, end_ms)] if next_open(interval, start_ms) <= now_ms else []
    gaps: list[tuple[int, int]] = []
    if times[0] >= next_open(interval, start_ms):
        gaps.append((start_ms, times[0]))
    for prev, cur in itertools.pairwise(times):
        expected = next_open(interval, prev)
        if cur < expected:
            raise ValueError(f"duplicate or unsorted candle at {_iso(cur)} ({cur})")
        if cur > expected:
            gaps.append((expected, cur))
    after = next_open(interval, times[-1])
    if after < end_ms and next_open(interval, after) <= now_ms:
        gaps.append((after, end_ms))
    return gaps


def describe(symbol: str, interval: str, gaps: list[tuple[int, int]]) -> str:
    """A readable account of the first gap and how many there are."""
    lo, hi = gaps[0]
    more = f"; {len(gaps)} gaps in total" if len(gaps) > 1 else ""
    return (
        f"{symbol} {interval}: Binance has no candles from {_iso(lo)} ({lo}) to {_iso(hi)} "
        f"({hi}){more}; nothing stored (--allow-gaps stores what Binance has)"
    )


async def fetch(
    client: Any,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    market: binance_rest.Market = "spot",
    now_ms: int | None = None,
) -> ohlcv.Columns:
    """All closed candles of the range as columns.

    Raises:
        binance.exceptions.BinanceAPIException, aiohttp.ClientError: see binance_rest.klines.
        ValueError: a kline row not in Binance's format.
    """
    pages = [
        klines_to_columns(page)
        async for page in binance_rest.klines(
            client, symbol, interval, start_ms, end_ms, market, now_ms
        )
    ]
    if not pages:
        return klines_to_columns([])
    return {c: np.concatenate([p[c] for p in pages]) for c in ohlcv.COLUMNS}


async def load(
    db: Database,
    client: Any,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    market: binance_rest.Market = "spot",
    allow_gaps: bool = False,
) -> int:
    """Fetch, validate and store ``[start_ms, end_ms)``; returns candles stored.

    Loading the same range again changes nothing (candles are keyed by open time).

    Raises:
        GapError: candles missing and ``allow_gaps`` is false (nothing is written).
        ValueError: duplicate candles, an unknown interval, or futures and spot candles
            of one symbol would share buckets.
        binance.exceptions.BinanceAPIException, aiohttp.ClientError: Binance refused or
            could not be reached.
        pymongo.errors.PyMongoError: the write failed.
    """
    if interval not in ohlcv.INTERVAL_MS:
        raise ValueError(f"unknown interval {interval!r}; known: {', '.join(ohlcv.INTERVAL_MS)}")
    if end_ms <= start_ms:
        raise ValueError("--end must be after --start")
    now_ms = int(time.time() * 1000)
    symbol = symbol.upper()
    columns = await fetch(client, symbol, interval, start_ms, end_ms, market, now_ms)
    gaps = find_gaps(interval, columns["open_time"], start_ms, end_ms, now_ms)
    if gaps and not allow_gaps:
        raise GapError(describe(symbol, interval, gaps))
    if not len(columns["open_time"]):
        return 0
    await _refuse_other_market(db, symbol, interval, columns, FEEDS[market])
    await store.upsert(db, symbol, interval, columns, feed=FEEDS[market])
    return len(columns["open_time"])


async def _refuse_other_market(
    db: Database, symbol: str, interval: str, columns: ohlcv.Columns, feed: str
) -> None:
    # Spot and futures prices differ; merged into one bucket they would silently replace
    # each other candle by candle.
    first, last = int(columns["open_time"][0]), int(columns["open_time"][-1])
    other = {v for k, v in FEEDS.items() if v != feed}
    q = {**ohlcv.range_filter(symbol, interval, first, last + 1), "feed": {"$in": list(other)}}
    clash = await db[store.COLLECTION].find_one(q, {"feed": 1, "period_start": 1})
    if clash is not None:
        raise ValueError(
            f"{symbol} {interval} already holds {clash['feed']} candles in this range; "
            f"{feed} candles would overwrite them"
        )
