"""The storage format of candles in MongoDB (docs/contract.md, "Stores"), as pure functions.

One document per (symbol, interval, period): a UTC day for intraday intervals, a UTC year for
daily and above. Columns are little-endian float64 arrays packed as binary (epoch-ms open
times are exact in float64). No I/O here: marketdata writes these documents, the sandbox and
the strategy service read them, each with its own driver.

Document shape (collection ``candles`` of database ``ohlcv``)::

    {_id: "BTCUSDT:1m:1704067200000", symbol, interval, period_start, period_end, count,
     first_open_time, last_open_time, feed, columns: {open_time, open, high, low, close,
     volume, quote_volume, trades: <bytes>}}

with a unique index on (symbol, interval, period_start).

Funding-rate history lives beside the candles in collection ``funding``, one document per
(symbol, UTC year), packed the same way (``kwont_ohlcv.funding``; the shared column packing
is ``kwont_ohlcv.packing``).
"""

from kwont_ohlcv import funding, packing
from kwont_ohlcv.buckets import (
    COLUMNS,
    INDEX_KEYS,
    INDEX_NAME,
    INTERVAL_MS,
    concat,
    merge,
    pack,
    period_bounds,
    range_filter,
    split_by_period,
    unpack,
)
from kwont_ohlcv.packing import Columns

__all__ = [
    "COLUMNS",
    "INDEX_KEYS",
    "INDEX_NAME",
    "INTERVAL_MS",
    "Columns",
    "concat",
    "funding",
    "merge",
    "pack",
    "packing",
    "period_bounds",
    "range_filter",
    "split_by_period",
    "unpack",
]
