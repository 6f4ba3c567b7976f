"""Funding years: minute rounding, pack/unpack exactly, split by UTC year, merge, clip; and
the column packing shared with the candle buckets."""

from __future__ import annotations

import numpy as np
import pytest

import kwont_ohlcv as ohlcv
from kwont_ohlcv import funding, packing

pytestmark = pytest.mark.unit
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
Y2025 = 1_735_689_600_000  # 2025-01-01T00:00:00Z
EIGHT_H = 8 * 3_600_000


def rows(n: int, start: int = T0, jitter: int = 0) -> dict[str, np.ndarray]:
    t = start + EIGHT_H * np.arange(n, dtype=np.int64) + jitter
    rates = 0.0001 + 1e-6 * np.arange(n)
    return funding.columns(t, rates, 42_000.0 + np.arange(n))


def test_times_are_rounded_to_the_minute_and_sorted() -> None:
    assert funding.round_to_minute([T0 + 8, T0 + 29_999, T0 + 30_000, T0 - 3]).tolist() == [
        T0, T0, T0 + 60_000, T0,
    ]  # fmt: skip
    cols = funding.columns([T0 + EIGHT_H + 7, T0 + 5], [0.0002, -0.0001])
    assert cols["funding_time"].tolist() == [T0, T0 + EIGHT_H]
    assert cols["rate"].tolist() == [-0.0001, 0.0002]
    assert np.isnan(cols["mark_price"]).all()  # no mark given: NaN, not zero


def test_bad_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="two funding rows"):
        funding.columns([T0 + 1, T0 + 2], [0.0001, 0.0001])  # one minute after rounding
    with pytest.raises(ValueError, match="finite"):
        funding.columns([T0], [float("nan")])
    with pytest.raises(ValueError, match="differ in length"):
        funding.columns([T0, T0 + EIGHT_H], [0.0001])
    with pytest.raises(ValueError, match="span more than one year"):
        funding.pack("BTCUSDT", rows(3, start=Y2025 - EIGHT_H))


def test_pack_round_trips_bit_for_bit_with_the_candle_packing() -> None:
    cols = rows(1098, jitter=5)
    doc = funding.pack("BTCUSDT", cols, feed="binance-futures")
    assert doc["_id"] == f"BTCUSDT:{T0}" and doc["count"] == 1098
    assert (doc["period_start"], doc["period_end"]) == (T0, Y2025)
    assert doc["first_time"] == T0 and doc["last_time"] == T0 + 1097 * EIGHT_H
    back = funding.unpack(doc)
    for c in funding.COLUMNS:
        assert back[c].tobytes() == cols[c].astype("<f8").tobytes()
    # The same packing as the candles: one function, one byte layout.
    candles = {c: cols["rate"] * (i + 1) for i, c in enumerate(ohlcv.COLUMNS)}
    candles["open_time"] = cols["funding_time"]
    candle_doc = ohlcv.pack("BTCUSDT", "1d", candles)
    assert candle_doc["columns"] == packing.pack_columns(candles, ohlcv.COLUMNS)
    assert candle_doc["columns"]["open_time"] == doc["columns"]["funding_time"]


def test_split_by_year_then_concat_restores_a_range() -> None:
    cols = rows(1200, start=T0 - 10 * EIGHT_H)  # late 2023 to early 2025
    parts = list(funding.split_by_year(cols))
    assert [p for p, _ in parts] == [funding.year_bounds(T0 - 1)[0], T0, Y2025]
    assert sum(len(p["rate"]) for _, p in parts) == 1200
    docs = [funding.pack("ETHUSDT", p) for _, p in parts]
    lo, hi = T0 - 3 * EIGHT_H, Y2025 + 2 * EIGHT_H + 1
    got = funding.concat(docs[::-1], lo, hi)
    keep = (cols["funding_time"] >= lo) & (cols["funding_time"] < hi)
    assert int(keep.sum()) == 3 + 1098 + 3
    for c in funding.COLUMNS:
        np.testing.assert_array_equal(got[c], cols[c][keep])
    times, rates = funding.times_and_rates(got)
    assert times.dtype == np.int64 and rates.dtype == np.float64
    assert times[0] == lo and times[-1] == Y2025 + 2 * EIGHT_H


def test_merge_is_idempotent_and_new_rows_win() -> None:
    old = rows(10)
    new = funding.columns(old["funding_time"][8:] + 0, [0.5, 0.6], [1.0, 2.0])
    new = funding.merge(new, rows(3, start=T0 + 10 * EIGHT_H))  # and three later rows
    merged = funding.merge(old, new)
    assert len(merged["rate"]) == 13
    assert merged["rate"][:8].tolist() == old["rate"][:8].tolist()
    assert merged["rate"][8:10].tolist() == [0.5, 0.6]
    again = funding.merge(merged, new)
    for c in funding.COLUMNS:
        np.testing.assert_array_equal(again[c], merged[c])
    assert funding.range_filter("BTCUSDT", T0, Y2025) == {
        "symbol": "BTCUSDT", "period_start": {"$lt": Y2025}, "period_end": {"$gt": T0},
    }  # fmt: skip
