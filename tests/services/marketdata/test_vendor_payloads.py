"""Pure conversions: Binance/CoinMarketCap payloads to Kwont data, gap finding, symbol writes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pymongo import UpdateOne

from kwont_marketdata import binance_history, coinmarketcap, symbols
from kwont_marketdata.binance_models import SymbolInfo, klines_to_columns
from tests.services.marketdata.vendors import MINUTE, T0, klines

pytestmark = pytest.mark.unit
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
FAR = 2_000_000_000_000


def month(year: int, m: int) -> int:
    return int(dt.datetime(year, m, 1, tzinfo=dt.UTC).timestamp() * 1000)


def test_kline_rows_become_float_columns() -> None:
    rows = klines(3)
    cols = klines_to_columns(rows)
    assert cols["open_time"].tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert cols["close"][1] == float(rows[1][4]) and cols["trades"][2] == rows[2][8]
    assert all(c.dtype == np.float64 for c in cols.values())
    with pytest.raises(ValueError, match="12 fields"):
        klines_to_columns([rows[0][:6]])


def test_gaps_inside_at_the_edges_and_by_calendar_month() -> None:
    times = np.array([T0 + i * MINUTE for i in (0, 1, 4, 5)], dtype=np.float64)
    assert binance_history.find_gaps("1m", times, T0, T0 + 6 * MINUTE, FAR) == [
        (T0 + 2 * MINUTE, T0 + 4 * MINUTE)
    ]
    assert binance_history.find_gaps("1m", times[2:], T0, T0 + 8 * MINUTE, FAR) == [
        (T0, T0 + 4 * MINUTE), (T0 + 6 * MINUTE, T0 + 8 * MINUTE)
    ]  # fmt: skip
    # The newest candle is not closed yet: not missing.
    assert binance_history.find_gaps("1m", times, T0, T0 + 7 * MINUTE, T0 + 6 * MINUTE)[1:] == []
    months = np.array([month(2024, 1), month(2024, 2), month(2024, 3)], dtype=np.float64)
    assert binance_history.find_gaps("1M", months, month(2024, 1), month(2024, 4), FAR) == []
    assert binance_history.find_gaps("1M", months[[0, 2]], month(2024, 1), month(2024, 4), FAR) == [
        (month(2024, 2), month(2024, 3))
    ]
    with pytest.raises(ValueError, match="duplicate"):
        binance_history.find_gaps("1m", times[[0, 1, 1]], T0, T0 + 2 * MINUTE, FAR)


def test_filters_keep_exact_decimals_for_spot_and_futures_names() -> None:
    info = SymbolInfo.model_validate({
        "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": "0.10", "minPrice": "556.80"},
            {"filterType": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001"},
            {"filterType": "MIN_NOTIONAL", "notional": "100"},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        ],
    })  # fmt: skip
    assert info.kwont_filters() == {
        "tick_size": "0.1", "step_size": "0.001", "min_qty": "0.001", "min_notional": "100"
    }  # fmt: skip


def test_shared_fields_follow_the_vendor_until_an_admin_edits_them() -> None:
    fields = {"symbol": "X", "base_asset": "X", "quote_asset": "USDT", "status": "TRADING",
              "filters": {}}  # fmt: skip
    owned = {"symbol": "X", "base_asset": "X", "quote_asset": "USDT", "filters": {},
             "vendor.status": "TRADING", "vendor.market_cap": 5.0, "refreshed_at": NOW}  # fmt: skip
    both = owned | {"status": "TRADING", "market_cap": 5.0}
    assert symbols.updates({}, {"X": fields}, {"X": 5.0}, NOW) == [
        UpdateOne({"_id": "X"}, {"$set": both}, upsert=True)
    ]

    vendor = {"status": "BREAK", "market_cap": 4.0}
    following = {"status": "BREAK", "market_cap": 4.0, "vendor": vendor}
    assert symbols.updates({"X": following}, {"X": fields}, {"X": 5.0}, NOW) == [
        UpdateOne({"_id": "X"}, {"$set": owned}, upsert=True),
        UpdateOne({"_id": "X", "status": "BREAK"}, {"$set": {"status": "TRADING"}}),
        UpdateOne({"_id": "X", "market_cap": 4.0}, {"$set": {"market_cap": 5.0}}),
    ]  # each guarded by the value read, so an edit made meanwhile wins

    edited = {"status": "HALT", "market_cap": 1.0, "vendor": vendor}
    assert len(symbols.updates({"X": edited}, {"X": fields}, {"X": 5.0}, NOW)) == 1
    agreeing = {"status": "TRADING", "market_cap": 1.0, "vendor": vendor}
    assert len(symbols.updates({"X": agreeing}, {"X": fields}, None, NOW)) == 1


def test_a_shared_ticker_takes_the_best_ranked_coin() -> None:
    listing = coinmarketcap.ListingsLatest.model_validate({
        "status": {"error_code": 0},
        "data": [
            {"id": 9, "symbol": "ABC", "cmc_rank": 900, "quote": {"USD": {"market_cap": 1.0}}},
            {"id": 2, "symbol": "ABC", "cmc_rank": 20, "quote": {"USD": {"market_cap": 7.0}}},
            {"id": 3, "symbol": "NEW", "cmc_rank": None, "quote": {"USD": {"market_cap": None}}},
        ],
    })  # fmt: skip
    assert coinmarketcap.market_caps_by_asset(listing) == {"ABC": 7.0}
