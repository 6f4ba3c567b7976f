"""``kwont-marketdata funding load|import``: funding-rate history into ``ohlcv.funding``, and
the synthetic funding of the demo market.

    kwont-marketdata funding load --symbol BTCUSDT --start 2024-01-01 --end 2024-07-01
        # Binance USD-M GET /fapi/v1/fundingRate (KWONT_BINANCE_FUTURES_URL), paged
    kwont-marketdata funding import BTCUSDT-fundingRate-2024-01.csv [...] [--symbol BTCUSDT]
        # Binance's public CSV: calc_time,funding_interval_hours,last_funding_rate

Both are idempotent (rows are keyed by funding time rounded to the minute). Synthetic
funding is one row per 8 hours (00:00, 08:00, 16:00 UTC), its rate drawn from a seed mixing
the feed seed, the symbol and the time (the same rate from ``seed-demo`` and the synthetic
feed), its mark price the price of the candle at that time; stored with ``feed: synthetic``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from kwont_common.mongo import Database
from kwont_marketdata import binance_funding, binance_rest, funding_store
from kwont_marketdata.replay import parse_time
from kwont_marketdata.settings import MarketdataSettings
from kwont_ohlcv import funding
from kwont_ohlcv.packing import Columns
from kwont_quant import funding as quant_funding

SYNTHETIC = "synthetic"
# One formula for the demo market's funding, shared with the backtest engine's
# ``--funding synthetic``: seed-demo, the synthetic feed and the engine draw the same rates.
INTERVAL_MS = quant_funding.INTERVAL_MS
synthetic_rate = quant_funding.synthetic_rate


def funding_times(start_ms: int, end_ms: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The 8-hourly funding times in ``[start_ms, end_ms)``."""
    first = -(-start_ms // INTERVAL_MS) * INTERVAL_MS
    return np.arange(first, end_ms, INTERVAL_MS, dtype=np.int64)


def synthetic_columns(symbol: str, candles: Columns, interval_ms: int, seed: int) -> Columns:
    """Synthetic funding over the span of ``candles`` (sorted kwont_ohlcv candle columns):
    mark price the open of the candle holding each funding time."""
    opens = candles["open_time"]
    if len(opens) == 0:
        return funding.columns([], [])
    times = funding_times(int(opens[0]), int(opens[-1]) + interval_ms)
    at = np.searchsorted(opens, times, side="right") - 1
    rates = [synthetic_rate(symbol, int(t), seed) for t in times]
    return funding.columns(times, rates, candles["open"][at])


async def write_synthetic(
    db: Database, symbol: str, candles: Columns, interval_ms: int, seed: int
) -> int:
    """Store the synthetic funding of ``candles``' span; returns the rows written."""
    cols = synthetic_columns(symbol, candles, interval_ms, seed)
    await funding_store.write_funding(db, symbol, cols, SYNTHETIC)
    return len(cols[funding.KEY])


async def load_binance(db: Database, client: Any, symbol: str, start_ms: int, end_ms: int) -> int:
    """Fetch every funding row of ``[start_ms, end_ms)`` from Binance, then store them;
    returns the rows stored. Nothing is written unless every page arrived.

    Raises:
        ValueError: ``end_ms`` not after ``start_ms``, or two rows on one minute.
        binance.exceptions.BinanceAPIException, aiohttp.ClientError: Binance refused or
            could not be reached.
        pydantic.ValidationError: a row not in Binance's format.
        pymongo.errors.PyMongoError: the write failed.
    """
    if end_ms <= start_ms:
        raise ValueError("--end must be after --start")
    cols = await binance_funding.fetch(client, symbol.upper(), start_ms, end_ms)
    await funding_store.write_funding(db, symbol.upper(), cols, binance_funding.FEED)
    return len(cols[funding.KEY])


async def import_csv(db: Database, paths: list[Path], symbol: str | None) -> int:
    """Import Binance funding CSV files; returns rows stored. Every file is read and checked
    before any is written.

    Raises:
        binance_funding.FundingCsvError: a file or line is invalid (named), or no symbol is
            given and a file name does not carry one.
    """
    parsed = []
    for path in paths:
        sym = symbol or binance_funding.symbol_of(path)
        if not sym:
            raise binance_funding.FundingCsvError(
                f"{path}: the file name does not name the symbol; pass --symbol BTCUSDT"
            )
        parsed.append((path, sym.upper(), binance_funding.read_csv(path)))
    total = 0
    for path, sym, cols in parsed:
        await funding_store.write_funding(db, sym, cols, binance_funding.FEED)
        total += len(cols[funding.KEY])
        print(f"{path.name}: {len(cols[funding.KEY])} funding rows of {sym}", file=sys.stderr)
    return total


def add_parser(sub: Any) -> None:
    """The ``funding`` subcommand with ``load`` and ``import``."""
    fund = sub.add_parser(
        "funding", help="load funding-rate history of USD-M perpetuals (ohlcv.funding)",
        description="Funding-rate history of USD-M perpetuals, stored in ohlcv.funding per "
        "symbol and UTC year, keyed by funding time rounded to the minute: loading the same "
        "rows again changes nothing, and a later load replaces a row at the same time. "
        "`kwont-marketdata summary` shows what is stored.",
    )  # fmt: skip
    what = fund.add_subparsers(dest="source", required=True)
    bn = what.add_parser(
        "load", help="from Binance GET /fapi/v1/fundingRate (KWONT_BINANCE_FUTURES_URL)",
        description="Fetch every funding row of [--start, --end) from Binance USD-M futures "
        "(1000 rows a request, paged by startTime), then store them all; nothing is stored "
        "if a request fails. Exit 3 when Binance refuses (e.g. an unknown symbol).",
    )  # fmt: skip
    bn.add_argument("--symbol", required=True, help="USD-M perpetual, e.g. BTCUSDT")
    bn.add_argument(
        "--start", type=parse_time, required=True,
        help="YYYY-MM-DD, ISO time (UTC unless it says otherwise) or epoch ms",
    )  # fmt: skip
    bn.add_argument("--end", type=parse_time, required=True, help="as --start, exclusive")
    imp = what.add_parser(
        "import", help=f"Binance public funding CSV files ({quant_funding.CSV_HEADER})",
        description="Import data.binance.vision funding files (futures/um/monthly/fundingRate"
        f"/SYMBOL/SYMBOL-fundingRate-YYYY-MM.zip, unzipped): {quant_funding.CSV_HEADER}, "
        "header optional. Every file is checked first; a bad line is named with its number "
        "and content, nothing is stored and the exit status is 2.",
    )  # fmt: skip
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE", help="unzipped CSV file")
    imp.add_argument(
        "--symbol", help="symbol of every FILE (default: from a name like "
        "BTCUSDT-fundingRate-2024-01.csv)"
    )  # fmt: skip


async def command(args: argparse.Namespace, settings: MarketdataSettings, db: Database) -> int:
    """Run ``funding load|import``; returns the rows stored (errors are load.command's)."""
    await funding_store.ensure_indexes(db)
    if args.source == "import":
        return await import_csv(db, args.files, args.symbol)
    async with binance_rest.connect(settings) as client:
        n = await load_binance(db, client, args.symbol, args.start, args.end)
    if n == 0:
        print(f"Binance has no funding rows of {args.symbol.upper()} in the range (a USD-M "
              "perpetual? listed before --end?)", file=sys.stderr)  # fmt: skip
    return n
