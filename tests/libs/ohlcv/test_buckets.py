"""Candle buckets: pack/unpack exactly, split by UTC day or year, merge idempotently."""

from __future__ import annotations

import numpy as np
import pytest

from kwont_ohlcv import COLUMNS, concat, merge, pack, period_bounds, split_by_period, unpack

pytestmark = pytest.mark.unit
DAY = 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def minutes(n: int, start: int = T0, price: float = 100.0) -> dict[str, np.ndarray]:
    t = start + 60_000 * np.arange(n, dtype=np.float64)
    close = price + np.arange(n) * 0.01
    return {
        "open_time": t, "open": close - 0.005, "high": close + 1, "low": close - 1,
        "close": close, "volume": np.full(n, 2.5), "quote_volume": close * 2.5,
        "trades": np.arange(n, dtype=np.float64),
    }  # fmt: skip


def test_pack_round_trips_bit_for_bit() -> None:
    cols = minutes(1440)
    doc = pack("BTCUSDT", "1m", cols, feed="synthetic")
    assert doc["_id"] == f"BTCUSDT:1m:{T0}" and doc["count"] == 1440
    assert doc["period_end"] == T0 + DAY and doc["feed"] == "synthetic"
    assert len(doc["columns"]["close"]) == 1440 * 8
    back = unpack(doc)
    for c in COLUMNS:
        assert back[c].tobytes() == cols[c].astype("<f8").tobytes()


def test_buckets_are_utc_days_intraday_and_years_for_daily() -> None:
    assert period_bounds("1m", T0 + 5 * 60_000) == (T0, T0 + DAY)
    assert period_bounds("4h", T0 + DAY + 1) == (T0 + DAY, T0 + 2 * DAY)
    start, end = period_bounds("1d", T0 + 40 * DAY)
    assert start == T0 and end == T0 + 366 * DAY  # 2024 is a leap year
    with pytest.raises(ValueError, match="unknown interval"):
        period_bounds("7m", T0)


def test_split_then_concat_restores_a_range() -> None:
    cols = minutes(3 * 1440 + 10, start=T0 - 5 * 60_000)
    parts = list(split_by_period("1m", cols))
    assert [p for p, _ in parts] == [T0 - DAY, T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY]
    docs = [pack("ETHUSDT", "1m", c) for _, c in parts]
    lo, hi = T0 + 100 * 60_000, T0 + 2 * DAY + 7 * 60_000
    got = concat(docs[::-1], lo, hi)
    keep = (cols["open_time"] >= lo) & (cols["open_time"] < hi)
    for c in COLUMNS:
        np.testing.assert_array_equal(got[c], cols[c][keep])


def test_merge_is_idempotent_and_new_candles_win() -> None:
    old = minutes(100)
    new = minutes(50, start=T0 + 80 * 60_000, price=200.0)
    merged = merge(old, new)
    assert len(merged["open_time"]) == 130
    assert np.all(np.diff(merged["open_time"]) > 0)
    assert merged["close"][80] == new["close"][0] and merged["close"][79] == old["close"][79]
    again = merge(merged, new)
    for c in COLUMNS:
        np.testing.assert_array_equal(again[c], merged[c])


def test_pack_refuses_bad_input() -> None:
    cols = minutes(10)
    with pytest.raises(ValueError, match="strictly increasing"):
        pack("X", "1m", {**cols, "open_time": cols["open_time"][::-1].copy()})
    with pytest.raises(ValueError, match="more than one period"):
        pack("X", "1m", minutes(2000))
    with pytest.raises(ValueError, match="missing columns"):
        pack("X", "1m", {"open_time": cols["open_time"]})
