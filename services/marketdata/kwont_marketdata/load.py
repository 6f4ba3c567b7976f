"""``kwont-marketdata load ...``: put candles into ``ohlcv.candles``, idempotently.

    kwont-marketdata load csv PATH [--symbol BTCUSDT --interval 1m]   # file or folder
    kwont-marketdata load synthetic --symbol BTCUSDT [--symbol ETHUSDT] [--days 365]
    kwont-marketdata load binance --symbol BTCUSDT --interval 1m --start 2024-01-01
        --end 2024-02-01 [--market spot|futures] [--allow-gaps]   # Binance REST history
    kwont-marketdata refresh-symbols  # symbol metadata from Binance (+ CoinMarketCap), once
    kwont-marketdata seed-demo        # synthetic BTCUSDT + ETHUSDT, 1 year of 1m, if empty
    kwont-marketdata summary          # what the store holds (candles, then funding)
    kwont-marketdata funding load|import ...  # funding-rate history (funding.py)
    kwont-marketdata replay --symbol BTCUSDT --interval 1m --start 2024-01-01 --end
        2024-01-02 [--speed 0] [--csv PATH]   # publish candles to Kafka, then exit (replay.py)

Synthetic candles are seeded geometric Brownian motion, stored with ``feed: synthetic`` so
they are never mistaken for exchange data; synthetic funding (every 8 hours) comes with them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
import zlib
from pathlib import Path

import numpy as np

import kwont_ohlcv as ohlcv
from kwont_common.mongo import Database, Mongo
from kwont_marketdata import (
    binance_csv,
    binance_funding,
    binance_history,
    binance_rest,
    funding,
    funding_store,
    replay,
    store,
    symbols,
)  # fmt: skip
from kwont_marketdata.settings import MarketdataSettings
from kwont_quant import Candles
from kwont_quant.synthetic import gbm_ohlcv

DEMO_SYMBOLS = {"BTCUSDT": 42_000.0, "ETHUSDT": 2_300.0}
DAY_MS = 86_400_000


def columns_of(c: Candles) -> ohlcv.Columns:
    """Store columns of kwont_quant candles (quote volume close x volume, no trade count)."""
    return {
        "open_time": c.open_time_ms.astype(np.float64),
        "open": np.array(c.open), "high": np.array(c.high), "low": np.array(c.low),
        "close": np.array(c.close), "volume": np.array(c.volume),
        "quote_volume": c.close * c.volume, "trades": np.zeros(len(c)),
    }  # fmt: skip


def synthetic_columns(
    symbol: str, start_ms: int, days: int, interval: str, price: float, seed: int
) -> ohlcv.Columns:
    """Deterministic GBM candles for ``symbol`` (the seed mixes in the symbol's name)."""
    step = ohlcv.INTERVAL_MS[interval]
    n = days * DAY_MS // step
    c = gbm_ohlcv(n, seed=seed ^ zlib.crc32(symbol.encode()), start_ms=start_ms,
                  interval_ms=step, price=price)  # fmt: skip
    return columns_of(c)


async def load_csv(db: Database, target: Path, symbol: str | None, interval: str | None) -> int:
    """Load one Binance kline CSV or a folder of them; returns candles loaded.

    Raises:
        binance_csv.CsvError: a file is invalid (nothing from that file is written).
    """
    total = 0
    for path in binance_csv.files(target):
        named = binance_csv.symbol_interval(path)
        sym, ivl = symbol or (named and named[0]), interval or (named and named[1])
        if not sym or not ivl:
            raise binance_csv.CsvError(f"{path}: name symbol and interval (--symbol/--interval)")
        columns = binance_csv.read(path, ivl)
        await store.upsert(db, sym, ivl, columns, feed="binance")
        total += len(columns["open_time"])
        print(f"{path.name}: {len(columns['open_time'])} candles of {sym} {ivl}", file=sys.stderr)
    return total


async def load_synthetic(
    db: Database, symbols: dict[str, float], start_ms: int, days: int, interval: str, seed: int
) -> int:
    """Generate and store synthetic candles and their 8-hourly synthetic funding; returns
    candles loaded."""
    total = 0
    for symbol, price in symbols.items():
        cols = synthetic_columns(symbol, start_ms, days, interval, price, seed)
        await store.upsert(db, symbol, interval, cols, feed="synthetic")
        rows = await funding.write_synthetic(db, symbol, cols, ohlcv.INTERVAL_MS[interval], seed)
        total += len(cols["open_time"])
        print(f"{symbol}: {len(cols['open_time'])} synthetic {interval} candles, {rows} funding "
              "rows", file=sys.stderr)  # fmt: skip
    return total


def demo_start_ms(days: int = 365) -> int:
    """Midnight UTC ``days`` before today: the demo year ends yesterday."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(today.timestamp() * 1000) - days * DAY_MS


async def seed_demo(db: Database) -> int:
    """Synthetic BTCUSDT and ETHUSDT, one year of 1-minute candles and their funding, if the
    store is empty. A store seeded before funding existed gets the funding of its stored
    synthetic demo candles."""
    if await db[store.COLLECTION].estimated_document_count() > 0:
        if await db[funding_store.COLLECTION].estimated_document_count() == 0:
            for symbol in DEMO_SYMBOLS:
                cols = await store.read_range(db, symbol, "1m", 0, 2**62)
                if len(cols["open_time"]):
                    await funding.write_synthetic(db, symbol, cols, ohlcv.INTERVAL_MS["1m"], 7)
        print("market data present; demo seed skipped", file=sys.stderr)
        return 0
    return await load_synthetic(db, DEMO_SYMBOLS, demo_start_ms(), 365, "1m", seed=7)


async def seed_demo_symbols(db: Database) -> None:
    """Metadata of the synthetic demo symbols, so deployments can name them (inserted once:
    an admin's later edits stay). Filters as Binance's spot market has them."""
    for symbol in DEMO_SYMBOLS:
        doc = {
            "symbol": symbol, "base_asset": symbol.removesuffix("USDT"), "quote_asset": "USDT",
            "status": "TRADING", "tags": ["synthetic"],
            "description": "Synthetic demo market (seeded GBM), not exchange data",
            "filters": {"tick_size": "0.01", "step_size": "0.00001", "min_qty": "0.00001",
                        "min_notional": "5"},
        }  # fmt: skip
        await db[symbols.COLLECTION].update_one({"_id": symbol}, {"$setOnInsert": doc}, upsert=True)


async def load_binance(db: Database, settings: MarketdataSettings, args: argparse.Namespace) -> int:
    """``load binance``: see binance_history.load for what it raises."""
    async with binance_rest.connect(settings) as client:
        return await binance_history.load(
            db, client, args.symbol, args.interval, args.start, args.end, args.market,
            allow_gaps=args.allow_gaps,
        )  # fmt: skip


def _parse_day(text: str) -> int:
    day = dt.date.fromisoformat(text)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def parser() -> argparse.ArgumentParser:
    """The kwont-marketdata command line: serve (the default), load csv|synthetic|binance,
    refresh-symbols, seed-demo, summary and replay."""
    p = argparse.ArgumentParser(prog="kwont-marketdata", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the marketdata service (the default)")
    load = sub.add_parser("load", help="load candles").add_subparsers(dest="source", required=True)
    csv = load.add_parser("csv", help="Binance public kline CSV file or folder")
    csv.add_argument("path", type=Path)
    csv.add_argument("--symbol")
    csv.add_argument("--interval", choices=list(ohlcv.INTERVAL_MS))
    syn = load.add_parser("synthetic", help="seeded GBM candles (+ 8-hourly funding), synthetic")
    syn.add_argument("--symbol", action="append", required=True, dest="symbols")
    syn.add_argument("--days", type=int, default=365)
    syn.add_argument("--interval", default="1m", choices=list(ohlcv.INTERVAL_MS))
    syn.add_argument("--start", type=_parse_day, help="YYYY-MM-DD (default: a year ago)")
    syn.add_argument("--price", type=float, default=100.0)
    syn.add_argument("--seed", type=int, default=7)
    bn = load.add_parser("binance", help="Binance REST kline history (KWONT_BINANCE_*_URL)")
    bn.add_argument("--symbol", required=True)
    bn.add_argument("--interval", required=True, choices=list(ohlcv.INTERVAL_MS))
    bn.add_argument("--start", type=_parse_day, required=True, help="YYYY-MM-DD (UTC)")
    bn.add_argument("--end", type=_parse_day, required=True, help="YYYY-MM-DD, exclusive")
    bn.add_argument("--market", choices=["spot", "futures"], default="spot")
    bn.add_argument("--allow-gaps", action="store_true", help="store what Binance has")
    sub.add_parser("refresh-symbols", help="symbol metadata from Binance/CoinMarketCap, once")
    sub.add_parser(
        "seed-demo", help="synthetic BTCUSDT/ETHUSDT year of 1m candles and funding if empty"
    )
    sub.add_parser("summary", help="what the store holds: candles, then funding coverage")
    funding.add_parser(sub)
    replay.add_parser(sub)
    return p


async def command(args: argparse.Namespace, settings: MarketdataSettings) -> int:
    """Run every subcommand but replay against the candle store in MongoDB; the exit status."""
    mongo = Mongo.connect(settings)
    try:
        await mongo.wait_ready()
        db = mongo.market_write
        await store.ensure_indexes(db)
        await funding_store.ensure_indexes(db)
        started = time.perf_counter()
        if args.command == "refresh-symbols":
            await symbols.ensure_indexes(mongo.write)
            print(await symbols.refresh(settings, mongo.write), file=sys.stderr)
            return 0
        if args.command == "summary":
            for row in await store.summary(db):
                print(row)
            for row in await funding_store.coverage(db):
                print({"funding": row.pop("symbol"), **row})
            return 0
        if args.command == "funding":
            n = await funding.command(args, settings, db)
            print(f"{n} funding rows stored in {time.perf_counter() - started:.1f}s",
                  file=sys.stderr)  # fmt: skip
            return 0
        if args.command == "seed-demo":
            n = await seed_demo(db)
            await symbols.ensure_indexes(mongo.write)
            await seed_demo_symbols(mongo.write)
        elif args.source == "binance":
            n = await load_binance(db, settings, args)
        elif args.source == "csv":
            n = await load_csv(db, args.path, args.symbol, args.interval)
        else:
            start = args.start if args.start is not None else demo_start_ms(args.days)
            prices = {s: DEMO_SYMBOLS.get(s, args.price) for s in args.symbols}
            n = await load_synthetic(db, prices, start, args.days, args.interval, args.seed)
        print(f"{n} candles stored in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        return 0
    except (binance_csv.CsvError, binance_funding.FundingCsvError, ValueError) as exc:
        print(f"kwont-marketdata: {exc}", file=sys.stderr)
        return 2
    except binance_rest.VENDOR_ERRORS as exc:
        print(f"kwont-marketdata: Binance: {exc!r}", file=sys.stderr)
        return 3
    finally:
        await mongo.close()


def main(argv: list[str]) -> int:
    """Parse argv and run the command; the exit status."""
    args = parser().parse_args(argv)
    settings = MarketdataSettings(service_name="marketdata", log_json=False)
    if args.command == "replay":
        return asyncio.run(replay.command(args, settings))
    return asyncio.run(command(args, settings))
