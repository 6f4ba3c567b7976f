"""Replay candles onto ``candles``: from the store, or from Binance kline CSV files.

    kwont-marketdata replay --symbol BTCUSDT [--symbol ETHUSDT] --interval 1m
        --start 2024-01-01 --end 2024-01-02 [--speed 0] [--csv PATH]

Order is deterministic: by open time, then symbol. ``speed`` is a multiple of real time
(60 plays a 1-minute candle per second); 0 publishes as fast as the broker acknowledges.
Candles carry ``feed: replay`` and ids derived from (feed, symbol, interval, open time), so
replaying the same range twice publishes the same events. CSV candles are stored first
(idempotent upsert, labelled ``binance`` in the store like ``load csv``), then published.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import sys
import time
from pathlib import Path

import numpy as np

import kwont_ohlcv as ohlcv
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database, Mongo
from kwont_marketdata import binance_csv, store
from kwont_marketdata.aggregate import Bar
from kwont_marketdata.outlet import Outlet, bars, candle
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)
FEED = "replay"
FOREVER = 2**62
PROGRESS = "replay_progress"
"""Where a named replay records how far it got (see :func:`replay`)."""


def parse_time(text: str) -> int:
    """Epoch ms of ``YYYY-MM-DD``, an ISO time (UTC unless it says otherwise) or epoch ms.

    Raises:
        ValueError: none of those.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1000)


async def _from_csv(
    db: Database, target: Path, symbols: list[str], interval: str, start: int, end: int
) -> dict[str, ohlcv.Columns]:
    found: dict[str, list[ohlcv.Columns]] = {}
    for path in binance_csv.files(target):
        named = binance_csv.symbol_interval(path)
        symbol = named[0] if named else (symbols[0] if len(symbols) == 1 else None)
        if symbol is None:
            raise binance_csv.CsvError(f"{path}: name the symbol (--symbol) or the file")
        if named and named[1] != interval:
            raise binance_csv.CsvError(f"{path}: holds {named[1]} candles, not {interval}")
        if symbols and symbol not in symbols:
            continue
        cols = binance_csv.read(path, interval)
        await store.upsert(db, symbol, interval, cols, feed="binance")
        found.setdefault(symbol, []).append(cols)
    out = {}
    for symbol, parts in found.items():
        cols = {c: np.concatenate([p[c] for p in parts]) for c in ohlcv.COLUMNS}
        keep = (cols["open_time"] >= start) & (cols["open_time"] < end)
        out[symbol] = {c: v[keep] for c, v in cols.items()}
    return out


async def replay(
    settings: MarketdataSettings,
    producer: EventProducer,
    store_db: Database,
    symbols: list[str],
    interval: str,
    start_ms: int = 0,
    end_ms: int = FOREVER,
    speed: float = 0.0,
    csv: Path | None = None,
    stop: asyncio.Event | None = None,
    progress: str | None = None,
) -> int:
    """Publish the candles of ``[start_ms, end_ms)`` in order; returns how many.

    With ``progress`` (a name), the open time of each published candle is recorded in the
    store's ``replay_progress`` collection and a later call with the same name resumes
    there: the last recorded candle is published again (same event id), the ones before it
    are not. That is how the service's replay feed survives being killed.

    Raises:
        binance_csv.CsvError: a CSV file is invalid (nothing of it stored or published).
        ValueError: unknown interval, or ``end_ms`` not after ``start_ms``.
        pymongo.errors.PyMongoError, aiokafka.errors.KafkaError: store or broker failed.
    """
    if interval not in ohlcv.INTERVAL_MS:
        raise ValueError(f"unknown interval {interval!r}")
    if end_ms <= start_ms:
        raise ValueError("the end must be after the start")
    symbols = [s.upper() for s in symbols]
    if csv is not None:
        data = await _from_csv(store_db, csv, symbols, interval, start_ms, end_ms)
    else:
        data = {s: await store.read_range(store_db, s, interval, start_ms, end_ms) for s in symbols}
    # One sorted stream over all symbols: (open time, symbol) is a total, repeatable order.
    merged: list[Bar] = list(
        heapq.merge(*(bars(s, interval, c) for s, c in sorted(data.items())),
                    key=lambda b: (b.open_time, b.symbol))
    )  # fmt: skip
    if progress is not None:
        done = await store_db[PROGRESS].find_one({"_id": progress})
        if done is not None:
            merged = [b for b in merged if b.open_time >= done["open_time"]]
    outlet = Outlet(producer, store_db)
    stop = stop or asyncio.Event()
    started = time.monotonic()
    first = merged[0].open_time if merged else 0
    sent = 0
    for bar in merged:
        if stop.is_set():
            break
        if speed > 0:
            delay = started + (bar.open_time - first) / 1000 / speed - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
        # Replayed candles are in the store already (or were just stored from the CSV).
        await outlet.candle(candle(bar, FEED, settings.service_name), stored=True)
        if progress is not None:
            await store_db[PROGRESS].update_one(
                {"_id": progress}, {"$max": {"open_time": bar.open_time}}, upsert=True
            )
        sent += 1
    return sent


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``replay`` subcommand of ``kwont-marketdata``."""
    p = sub.add_parser("replay", help="publish stored or CSV candles to `candles`, then exit")
    p.add_argument("--symbol", action="append", dest="symbols", default=[])
    p.add_argument("--interval", required=True, choices=list(ohlcv.INTERVAL_MS))
    p.add_argument("--start", type=parse_time, default=0, help="YYYY-MM-DD, ISO time or ms")
    p.add_argument("--end", type=parse_time, default=FOREVER, help="exclusive")
    p.add_argument("--speed", type=float, default=0.0, help="multiple of real time; 0 = max")
    p.add_argument("--csv", type=Path, help="Binance kline CSV file or folder")


async def command(args: argparse.Namespace, settings: MarketdataSettings) -> int:
    """Run ``replay`` with its own producer and Mongo connection; exit code."""
    if not args.symbols and args.csv is None:
        print("kwont-marketdata replay: give --symbol (or --csv)", file=sys.stderr)
        return 2
    mongo = Mongo.connect(settings)
    producer = EventProducer(settings)
    try:
        await mongo.wait_ready()
        await store.ensure_indexes(mongo.market_write)
        await producer.start()
        started = time.perf_counter()
        n = await replay(settings, producer, mongo.market_write, args.symbols, args.interval,
                         args.start, args.end, args.speed, args.csv)  # fmt: skip
        print(f"{n} candles replayed in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        return 0
    except (binance_csv.CsvError, ValueError) as exc:
        print(f"kwont-marketdata replay: {exc}", file=sys.stderr)
        return 2
    finally:
        await producer.stop()
        await mongo.close()
