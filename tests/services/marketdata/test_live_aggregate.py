"""Trades into candles (pure): the incremental builder, the vectorised form, alignment."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kwont_marketdata.aggregate import Bar, CandleBuilder, aggregate, next_open, window_open
from kwont_marketdata.synthetic_feed import next_bar

pytestmark = pytest.mark.unit
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z, a Monday
MIN = 60_000


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


def random_trades(n: int, seed: int, span_ms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    times = np.sort(T0 + rng.integers(0, span_ms, n))
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    return times, prices, rng.uniform(0.01, 2.0, n)


def test_windows_align_as_binance_does() -> None:
    assert window_open("1m", T0 + 59_999) == T0 and window_open("1m", T0 + MIN) == T0 + MIN
    assert window_open("1h", ms("2024-03-05T17:42:10")) == ms("2024-03-05T17:00:00")
    assert window_open("1w", ms("2024-01-07T23:59:00")) == ms("2024-01-01T00:00:00")  # Sunday
    assert window_open("1w", ms("2024-01-08T00:00:00")) == ms("2024-01-08T00:00:00")  # Monday
    assert window_open("1M", ms("2024-02-29T12:00:00")) == ms("2024-02-01T00:00:00")
    assert next_open("1M", ms("2024-01-01T00:00:00")) == ms("2024-02-01T00:00:00")
    assert next_open("1M", ms("2024-12-01T00:00:00")) == ms("2025-01-01T00:00:00")


def test_a_window_closes_on_the_first_trade_of_a_later_one() -> None:
    b = CandleBuilder(("1m",))
    assert b.add("BTCUSDT", T0 + 1_000, 100.0, 1.0, offset=0) == []
    assert b.add("BTCUSDT", T0 + 20_000, 103.0, 2.0, offset=1) == []
    assert b.add("BTCUSDT", T0 + 40_000, 99.0, 1.0, offset=2) == []
    assert b.add("BTCUSDT", T0 + 59_999, 101.0, 0.5, offset=3) == []
    assert b.oldest_offset("BTCUSDT") == 0
    (bar,) = b.add("BTCUSDT", T0 + MIN, 102.0, 1.0, offset=4)
    assert bar == Bar("BTCUSDT", "1m", T0, T0 + MIN - 1, 100.0, 103.0, 99.0, 101.0, 4.5,
                      100 + 206 + 99 + 50.5, 4)  # fmt: skip
    assert b.oldest_offset("BTCUSDT") == 4  # the new window's first trade


def test_empty_windows_become_flat_candles_and_late_trades_are_dropped() -> None:
    b = CandleBuilder(("1m",))
    b.add("ETHUSDT", T0 + 5, 10.0, 1.0)
    out = b.add("ETHUSDT", T0 + 3 * MIN + 5, 12.0, 1.0)
    assert [(x.open_time, x.open, x.close, x.volume, x.trades) for x in out] == [
        (T0, 10.0, 10.0, 1.0, 1),
        (T0 + MIN, 10.0, 10.0, 0.0, 0),
        (T0 + 2 * MIN, 10.0, 10.0, 0.0, 0),
    ]
    assert b.add("ETHUSDT", T0 + 2 * MIN, 11.0, 1.0) == [] and b.late == 1


def test_symbols_and_intervals_are_independent() -> None:
    b = CandleBuilder(("1m", "5m"))
    b.add("AAAUSDT", T0, 1.0, 1.0, offset=0)
    b.add("BBBUSDT", T0, 2.0, 1.0, offset=1)
    out = b.add("AAAUSDT", T0 + MIN, 1.5, 1.0, offset=2)
    assert [(x.symbol, x.interval) for x in out] == [("AAAUSDT", "1m")]
    assert b.oldest_offset("AAAUSDT") == 0  # its 5m window is still open
    out = b.add("AAAUSDT", T0 + 5 * MIN, 1.7, 1.0, offset=3)
    assert [(x.interval, x.open_time) for x in out] == [
        ("1m", T0 + MIN), ("1m", T0 + 2 * MIN), ("1m", T0 + 3 * MIN), ("1m", T0 + 4 * MIN),
        ("5m", T0),
    ]  # fmt: skip
    assert out[-1].high == 1.5 and out[-1].trades == 2


@pytest.mark.parametrize("interval", ["1m", "5m", "1h"])
def test_the_builder_equals_the_vectorised_form(interval: str) -> None:
    times, prices, qty = random_trades(20_000, seed=3, span_ms=6 * 3_600_000)
    b = CandleBuilder((interval,))
    built: list[Bar] = []
    for i in range(len(times)):
        built += b.add("BTCUSDT", int(times[i]), float(prices[i]), float(qty[i]), i)
    built = [x for x in built if x.trades]  # the vectorised form leaves empty windows out
    cols = aggregate(interval, times, prices, qty)
    n = len(built)
    assert n >= 5 and len(cols["open_time"]) == n + 1  # the last window is still open
    for name in ("open_time", "open", "high", "low", "close", "trades"):
        np.testing.assert_array_equal([getattr(x, name) for x in built], cols[name][:n], name)
    np.testing.assert_allclose([x.volume for x in built], cols["volume"][:n], rtol=1e-12)
    np.testing.assert_allclose([x.quote_volume for x in built], cols["quote_volume"][:n],
                               rtol=1e-12)  # fmt: skip


def test_resume_skips_what_was_emitted_and_fills_from_its_close() -> None:
    b = CandleBuilder(("1m",))
    b.resume("BTCUSDT", "1m", T0 + MIN, 105.0)
    assert b.add("BTCUSDT", T0 + MIN + 30_000, 1.0, 1.0) == []  # replayed trade of that window
    assert b.oldest_offset("BTCUSDT") is None
    (filler,) = b.add("BTCUSDT", T0 + 3 * MIN, 106.0, 1.0)  # the gap is known to be empty
    assert (filler.open_time, filler.close, filler.trades) == (T0 + 2 * MIN, 105.0, 0)
    (bar,) = b.add("BTCUSDT", T0 + 4 * MIN, 107.0, 1.0)
    assert (bar.open_time, bar.open, bar.trades) == (T0 + 3 * MIN, 106.0, 1)


def test_close_due_flushes_by_the_wall_clock() -> None:
    b = CandleBuilder(("1m",))
    b.add("BTCUSDT", T0 + 10, 100.0, 1.0)
    assert b.close_due(T0 + MIN - 1) == []
    (bar,) = b.close_due(T0 + MIN)
    assert bar.open_time == T0 and b.oldest_offset("BTCUSDT") is None
    assert b.add("BTCUSDT", T0 + 20, 100.0, 1.0) == []  # late for a flushed window
    assert b.oldest_offset("BTCUSDT") is None


def test_unknown_intervals_and_unsorted_trades_are_refused() -> None:
    with pytest.raises(KeyError):
        CandleBuilder(("7m",))
    with pytest.raises(ValueError, match="sorted"):
        aggregate("1m", np.array([2, 1]), np.array([1.0, 1.0]), np.array([1.0, 1.0]))


def test_synthetic_bars_open_at_the_previous_close_and_repeat_per_seed() -> None:
    a = next_bar("BTCUSDT", "1m", T0, 42_000.0, seed=7)
    assert a.open == 42_000.0 and a.low <= min(a.open, a.close) <= a.high
    assert a == next_bar("BTCUSDT", "1m", T0, 42_000.0, seed=7)
    assert a.close != next_bar("ETHUSDT", "1m", T0, 42_000.0, seed=7).close
    assert a.close != next_bar("BTCUSDT", "1m", T0, 42_000.0, seed=8).close
    b = next_bar("BTCUSDT", "1m", T0 + MIN, a.close, seed=7)
    assert b.open == a.close and b.open_time == a.close_time + 1
