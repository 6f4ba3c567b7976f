"""Loading candles into the real MongoDB (SecantusDB): CSV, synthetic, idempotent buckets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from kwont_marketdata import binance_csv, load, store

pytestmark = pytest.mark.integration
T0 = 1_704_067_200_000  # 2024-01-01
DAY = 86_400_000


def write_binance_csv(path: Path, n: int, start: int = T0, *, micros: bool = False) -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        for i in range(n):
            t = start + i * 60_000
            o = close[i - 1] if i else close[0]
            hi, lo = max(o, close[i]) * 1.001, min(o, close[i]) * 0.999
            ts = t * 1000 if micros else t
            w.writerow([ts, o, hi, lo, close[i], 5.0, ts + 59_999, 500.0, 17, 2.0, 200.0, 0])


async def test_binance_csv_folder_loads_idempotently_into_day_buckets(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "klines"
    folder.mkdir()
    write_binance_csv(folder / "BTCUSDT-1m-2024-01-01.csv", 1440)
    write_binance_csv(folder / "BTCUSDT-1m-2024-01-02.csv", 1000, start=T0 + DAY, micros=True)
    assert await load.load_csv(db, folder, None, None) == 2440
    assert await load.load_csv(db, folder, None, None) == 2440  # again: same content
    assert await db.candles.count_documents({}) == 2
    cols = await store.read_range(db, "BTCUSDT", "1m", T0, T0 + 2 * DAY)
    assert len(cols["open_time"]) == 2440
    assert np.all(np.diff(cols["open_time"]) == 60_000)
    assert cols["trades"][0] == 17 and cols["quote_volume"][0] == 500.0
    [row] = await store.summary(db)
    assert row["candles"] == 2440 and row["feeds"] == ["binance"]


async def test_a_bad_csv_is_refused_whole_with_the_reason(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ETHUSDT-1m-2024-01-01.csv"
    write_binance_csv(path, 100)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:50] + lines[51:]) + "\n")  # a gap at row 50
    with pytest.raises(binance_csv.CsvError, match="gap|missing|step"):
        await load.load_csv(db, path, None, None)
    assert await db.candles.count_documents({}) == 0
    with pytest.raises(binance_csv.CsvError, match="name symbol and interval"):
        await load.load_csv(db, _copy(path, tmp_path / "data.csv"), None, None)


def _copy(src: Path, dst: Path) -> Path:
    dst.write_text(src.read_text())
    return dst


async def test_synthetic_is_deterministic_labelled_and_seed_demo_runs_once(db) -> None:  # type: ignore[no-untyped-def]
    n = await load.load_synthetic(db, {"BTCUSDT": 42_000.0}, T0, 3, "1m", seed=7)
    assert n == 3 * 1440
    first = await store.read_range(db, "BTCUSDT", "1m", T0, T0 + 3 * DAY)
    again = load.synthetic_columns("BTCUSDT", T0, 3, "1m", 42_000.0, 7)
    np.testing.assert_array_equal(first["close"], again["close"])
    [row] = await store.summary(db)
    assert row["feeds"] == ["synthetic"]
    assert await load.seed_demo(db) == 0  # store not empty: nothing added
