"""CSV loading and input validation: bad data is refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kwont_quant import Candles, DataError
from kwont_quant.data import read_csv
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit

HEADED = """timestamp,open,high,low,close,volume
2024-01-01T00:00:00Z,100,101,99,100.5,10
2024-01-01T00:01:00Z,100.5,102,100,101,11
2024-01-01T00:02:00Z,101,101.5,100.2,100.8,9
"""


def binance_lines(n: int = 5, start: int = 1_704_067_200_000, unit: int = 1) -> list[str]:
    c = gbm_ohlcv(n, seed=5, start_ms=start)
    return [
        f"{t * unit},{o},{h},{lo},{cl},{v},{t * unit + 59_999},{cl * v},3,{v / 2},{cl * v / 2},0"
        for t, o, h, lo, cl, v in zip(
            c.open_time_ms, c.open, c.high, c.low, c.close, c.volume, strict=True
        )
    ]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "data.csv"
    p.write_text(text)
    return p


def test_reads_binance_kline_csv(tmp_path: Path) -> None:
    c = read_csv(write(tmp_path, "\n".join(binance_lines()) + "\n"))
    ref = gbm_ohlcv(5, seed=5)
    np.testing.assert_array_equal(c.open_time_ms, ref.open_time_ms)
    np.testing.assert_allclose(c.close, ref.close, rtol=1e-15)
    assert c.interval_ms() == 60_000


def test_reads_binance_microsecond_timestamps(tmp_path: Path) -> None:
    c = read_csv(write(tmp_path, "\n".join(binance_lines(unit=1000)) + "\n"))
    assert c.open_time_ms[0] == 1_704_067_200_000


def test_reads_headed_csv_with_iso_or_epoch_times(tmp_path: Path) -> None:
    c = read_csv(write(tmp_path, HEADED))
    assert c.open_time_ms.tolist() == [1_704_067_200_000, 1_704_067_260_000, 1_704_067_320_000]
    assert c.close.tolist() == [100.5, 101.0, 100.8]
    epoch = (
        HEADED.replace("2024-01-01T00:00:00Z", "1704067200000")
        .replace("2024-01-01T00:01:00Z", "1704067260000")
        .replace("2024-01-01T00:02:00Z", "1704067320")
    )
    np.testing.assert_array_equal(read_csv(write(tmp_path, epoch)).open_time_ms, c.open_time_ms)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda L: L[:3] + L[4:], r"line 4: gap in the data"),
        (lambda L: [*L[:3], L[2], *L[3:]], r"line 4: duplicate timestamp"),
        (lambda L: [L[0], L[2], L[1], *L[3:]], r"line 3: unsorted timestamp"),
        (
            lambda L: [*L[:2], L[2].replace(L[2].split(",")[4], "nan", 1), *L[3:]],
            r"line 3: close is nan",
        ),
        (
            lambda L: [*L[:1], L[1].replace(L[1].split(",")[3], "-1", 1), *L[2:]],
            r"line 2: low price -1.0 is not positive",
        ),
        (
            lambda L: [*L[:1], L[1].replace(L[1].split(",")[2], "abc", 1), *L[2:]],
            r"line 2: bad number 'abc' in column high",
        ),
        (lambda L: [*L[:1], "1,2,3", *L[2:]], r"line 2: expected 6 columns"),
    ],
)
def test_bad_csv_is_refused_with_its_line(tmp_path: Path, mutate, message: str) -> None:
    lines = mutate(binance_lines(6))
    with pytest.raises(DataError, match=message):
        read_csv(write(tmp_path, "\n".join(lines) + "\n"))


def test_gaps_can_be_allowed(tmp_path: Path) -> None:
    lines = binance_lines(6)
    c = read_csv(write(tmp_path, "\n".join(lines[:3] + lines[4:])), allow_gaps=True)
    assert len(c) == 5


def test_headed_csv_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="header must name"):
        read_csv(write(tmp_path, "time,open,high,low,close\n1,2,3,4,5\n"))
    with pytest.raises(DataError, match="line 3: duplicate"):
        read_csv(write(tmp_path, HEADED.replace("00:01:00Z", "00:00:00Z")))
    with pytest.raises(DataError, match="cannot open"):
        read_csv(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="empty"):
        read_csv(write(tmp_path, ""))


def test_candles_validation_from_arrays() -> None:
    t = np.array([0, 60_000, 120_000])
    ok = np.array([1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="inconsistent candle"):
        Candles.from_arrays(t, ok, [1.0, 0.5, 1.0], ok, ok)
    with pytest.raises(DataError, match="has 2 rows"):
        Candles.from_arrays(t, ok, ok, ok, ok[:2])
    with pytest.raises(DataError, match="no candles"):
        Candles.from_arrays([], [], [], [], [])
    c = Candles.from_arrays(t, ok, ok, ok, ok)
    with pytest.raises(ValueError):
        c.close[0] = 2.0  # read-only: strategies cannot alter shared data


def test_synthetic_data_is_deterministic() -> None:
    a, b = gbm_ohlcv(1000, seed=9), gbm_ohlcv(1000, seed=9)
    assert a.close.tobytes() == b.close.tobytes() and a.high.tobytes() == b.high.tobytes()
    assert gbm_ohlcv(1000, seed=10).close[-1] != a.close[-1]
    assert (a.high >= np.maximum(a.open, a.close)).all()
    a.check_no_gaps(60_000)
