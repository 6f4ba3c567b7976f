"""Binance public kline CSV files (the data.binance.vision format) into candle columns.

12 columns, optionally a header: open_time, open, high, low, close, volume, close_time,
quote_volume, trades, taker_buy_base, taker_buy_quote, ignore. Newer spot dumps write times
in microseconds; they are converted to milliseconds. File names such as
``BTCUSDT-1m-2024-01.csv`` name the symbol and interval.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import kwont_ohlcv as ohlcv
from kwont_quant import Candles

NAME = re.compile(r"^(?P<symbol>[A-Z0-9]{2,30})-(?P<interval>\d+[mhdwM])-")


class CsvError(ValueError):
    """A file that is not a valid Binance kline CSV; the message names file and problem."""


def symbol_interval(path: Path) -> tuple[str, str] | None:
    """``(symbol, interval)`` from a data.binance.vision file name, if it is one."""
    m = NAME.match(path.name)
    return (m["symbol"], m["interval"]) if m else None


def read(path: Path, interval: str) -> ohlcv.Columns:
    """Validated columns of one file.

    Raises:
        CsvError: unreadable file, wrong column count, gap, duplicate or unsorted times,
            NaN or non-positive prices.
    """
    try:
        with path.open() as f:
            first = f.readline()
        skip = 0 if first[:1].isdigit() else 1
        raw = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise CsvError(f"{path}: not a Binance kline CSV: {exc}") from exc
    if raw.shape[1] != 12:
        raise CsvError(f"{path}: expected 12 columns, found {raw.shape[1]}")
    times = raw[:, 0].copy()
    if len(times) and times[0] >= 1e14:
        times = np.floor(times / 1000)
    try:
        candles = Candles.from_arrays(times, raw[:, 1], raw[:, 2], raw[:, 3], raw[:, 4], raw[:, 5])
        candles.check_no_gaps(ohlcv.INTERVAL_MS[interval])
    except Exception as exc:  # DataError says what is wrong; add the file name
        raise CsvError(f"{path}: {exc}") from exc
    return {
        "open_time": times,
        "open": raw[:, 1],
        "high": raw[:, 2],
        "low": raw[:, 3],
        "close": raw[:, 4],
        "volume": raw[:, 5],
        "quote_volume": raw[:, 7],
        "trades": raw[:, 8],
    }


def files(target: Path) -> list[Path]:
    """One CSV, or every ``*.csv`` in a folder, sorted by name (hence by date)."""
    if target.is_dir():
        found = sorted(target.glob("*.csv"))
        if not found:
            raise CsvError(f"{target}: no .csv files")
        return found
    if not target.exists():
        raise CsvError(f"{target}: no such file")
    return [target]
