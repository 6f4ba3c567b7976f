"""Funding-rate history into SecantusDB: python-binance against the local stand-in's
``/fapi/v1/fundingRate``, Binance's public CSV, synthetic demo funding, and reading it back
with marketdata's store and with the sandbox's read-only reader."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymongo import MongoClient

from kwont_common.mongo import Database
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_marketdata import funding, funding_store, load
from kwont_marketdata.settings import MarketdataSettings
from kwont_sandbox.data import read_funding as sandbox_read_funding
from tests.services.marketdata.vendors import T0, Binance, funding_rows

pytestmark = pytest.mark.integration
DAY = 86_400_000
EIGHT_H = 8 * 3_600_000
MINUTE = 60_000


def expected(rows: list[dict[str, Any]]) -> tuple[list[int], list[float], list[float]]:
    """What the store must hold for Binance rows: minute times, exact rates, marks or NaN."""
    times = [(r["fundingTime"] + 30_000) // MINUTE * MINUTE for r in rows]
    rates = [float(Decimal(r["fundingRate"])) for r in rows]
    marks = [float(r["markPrice"]) if r["markPrice"] else float("nan") for r in rows]
    return times, rates, marks


async def run(settings: MarketdataSettings, *argv: str) -> int:
    return await load.command(load.parser().parse_args(list(argv)), settings)


async def test_load_pages_2200_rows_rounds_times_and_reloads_idempotently(
    binance: Binance, settings: MarketdataSettings, db: Database, mongo: MongoEndpoint,
    mongo_db: str,
) -> None:  # fmt: skip
    rows = funding_rows(2_230, no_mark=40)  # 2024-01-01 onwards, into 2026
    binance.funding["BTCUSDT"] = rows
    end = T0 + 2_200 * EIGHT_H  # the last 30 rows lie after the range
    argv = ["funding", "load", "--symbol", "btcusdt", "--start", "2024-01-01",
            "--end", str(end)]  # fmt: skip
    assert await run(settings, *argv) == 0
    assert binance.requests.count("/fapi/v1/fundingRate") == 3  # 1000 + 1000 + 230 (short)
    times, rates = await funding_store.read_funding(db, "BTCUSDT", 0, 2**62)
    want_t, want_r, want_m = expected(rows[:2_200])
    assert times.dtype == np.int64 and times.tolist() == want_t
    assert rates.tolist() == want_r
    cols = await funding_store.read_columns(db, "BTCUSDT", 0, 2**62)
    np.testing.assert_array_equal(cols["mark_price"], want_m)  # NaN where Binance sent ""
    docs = await db.funding.find({}, {"_id": 1, "count": 1, "feed": 1}).to_list(None)
    assert sorted(d["count"] for d in docs) == [7, 1095, 1098]  # 2026, 2025, leap 2024
    assert {d["feed"] for d in docs} == {"binance-futures"}

    assert await run(settings, *argv) == 0  # again: the same rows, the same documents
    again_t, again_r = await funding_store.read_funding(db, "BTCUSDT", 0, 2**62)
    assert again_t.tolist() == want_t and again_r.tolist() == want_r
    assert await db.funding.count_documents({}) == 3

    # A range read, through marketdata's store and the sandbox's read-only reader alike.
    lo, hi = T0 + 1_000 * EIGHT_H, T0 + 1_100 * EIGHT_H
    part_t, part_r = await funding_store.read_funding(db, "BTCUSDT", lo, hi)
    assert part_t.tolist() == want_t[1_000:1_100] and part_r.tolist() == want_r[1_000:1_100]
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo.readonly_uri, directConnection=True) as client:
        ro_t, ro_r = sandbox_read_funding(client[mongo_db], "BTCUSDT", lo, hi)
        assert ro_t.tolist() == part_t.tolist() and ro_r.tolist() == part_r.tolist()
        none_t, none_r = sandbox_read_funding(client[mongo_db], "ETHUSDT", lo, hi)
        assert len(none_t) == len(none_r) == 0


async def test_an_unknown_symbol_exits_3_and_an_empty_range_says_so(
    binance: Binance, settings: MarketdataSettings, db: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    binance.funding["BTCUSDT"] = funding_rows(10)
    argv = ["funding", "load", "--start", "2023-01-01", "--end", "2023-02-01", "--symbol"]
    assert await run(settings, *argv, "NOPE") == 3
    assert "Invalid symbol" in capsys.readouterr().err
    assert await run(settings, *argv, "BTCUSDT") == 0  # before the listing: nothing there
    assert "Binance has no funding rows of BTCUSDT in the range" in capsys.readouterr().err
    assert await db.funding.count_documents({}) == 0


def write_csv(path: Path, rows: list[dict[str, Any]], header: bool = True) -> None:
    lines = ["calc_time,funding_interval_hours,last_funding_rate"] if header else []
    lines += [f"{r['fundingTime']},8,{r['fundingRate']}" for r in rows]
    path.write_text("\n".join(lines) + "\n")


async def test_csv_import_is_idempotent_and_merges_with_the_api_rows(
    binance: Binance, settings: MarketdataSettings, db: Database, tmp_path: Path
) -> None:
    rows = funding_rows(200, symbol="ETHUSDT", seed=4)
    jan, feb = tmp_path / "ETHUSDT-fundingRate-2024-01.csv", tmp_path / "other.csv"
    write_csv(jan, rows[:93])
    write_csv(feb, rows[93:], header=False)
    assert await run(settings, "funding", "import", str(jan), str(feb), "--symbol", "ETHUSDT") == 0
    assert await run(settings, "funding", "import", str(jan)) == 0  # symbol from the name
    want_t, want_r, _ = expected(rows)
    times, rates = await funding_store.read_funding(db, "ETHUSDT", 0, 2**62)
    assert times.tolist() == want_t and rates.tolist() == want_r
    assert await db.funding.count_documents({}) == 1

    # The API's rows for the same times (other jitter) replace them, adding mark prices.
    binance.funding["ETHUSDT"] = [{**r, "fundingTime": r["fundingTime"] - 3} for r in rows]
    assert await run(settings, "funding", "load", "--symbol", "ETHUSDT", "--start", str(T0),
                     "--end", str(T0 + 200 * EIGHT_H)) == 0  # fmt: skip
    cols = await funding_store.read_columns(db, "ETHUSDT", 0, 2**62)
    assert cols["funding_time"].tolist() == want_t
    assert not np.isnan(cols["mark_price"]).any()


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("1704096000000,8", "2 fields, expected 3"),
        ("1704096000000,8,abc", "not numbers"),
        ("1704096000000,0,0.0001", "time and interval must be positive"),
        ("1704067200004,8,0.0002", "same funding time as line 2"),
    ],
)
async def test_a_bad_csv_line_is_named_exits_2_and_nothing_is_stored(
    settings: MarketdataSettings, db: Database, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], line: str, why: str,
) -> None:  # fmt: skip
    path = tmp_path / "BTCUSDT-fundingRate-2024-01.csv"
    write_csv(path, funding_rows(3))
    text = path.read_text().splitlines()
    path.write_text("\n".join([*text[:3], line, *text[3:]]) + "\n")  # as line 4
    assert await run(settings, "funding", "import", str(path)) == 2
    err = capsys.readouterr().err
    assert f"line 4: {line!r}: {why}" in err
    assert "fix or delete that line" in err
    assert await db.funding.count_documents({}) == 0


async def test_a_csv_without_a_symbol_is_refused_with_how_to_name_it(
    settings: MarketdataSettings, db: Database, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = tmp_path / "rates.csv"
    write_csv(path, funding_rows(3))
    assert await run(settings, "funding", "import", str(path)) == 2
    assert "pass --symbol" in capsys.readouterr().err
    assert await db.funding.count_documents({}) == 0


async def test_synthetic_candles_come_with_8_hourly_funding_shown_in_summary(
    settings: MarketdataSettings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await load.load_synthetic(db, {"BTCUSDT": 42_000.0}, T0 + 3 * MINUTE, 3, "1m", seed=7)
    cols = await funding_store.read_columns(db, "BTCUSDT", 0, 2**62)
    times = [T0 + k * EIGHT_H for k in range(1, 10)]  # after the first minutes, 3 days
    assert cols["funding_time"].tolist() == times
    assert cols["rate"].tolist() == [funding.synthetic_rate("BTCUSDT", t, 7) for t in times]
    candles = load.synthetic_columns("BTCUSDT", T0 + 3 * MINUTE, 3, "1m", 42_000.0, 7)
    at = np.searchsorted(candles["open_time"], times)
    assert cols["mark_price"].tolist() == candles["open"][at].tolist()
    assert len(set(cols["rate"].tolist())) > 5  # rates vary, not a constant
    assert await db.funding.distinct("feed") == ["synthetic"]

    assert await run(settings, "summary") == 0
    out = capsys.readouterr().out
    assert "'funding': 'BTCUSDT'" in out and "'rows': 9" in out and "'synthetic'" in out


async def test_seed_demo_adds_funding_to_a_store_seeded_before_funding(db: Database) -> None:
    await load.load_synthetic(db, {"ETHUSDT": 2_300.0}, T0, 2, "1m", seed=7)
    await db.funding.delete_many({})  # as a store seeded by an older version
    assert await load.seed_demo(db) == 0  # candles present: no new candles
    times, rates = await funding_store.read_funding(db, "ETHUSDT", 0, 2**62)
    assert times.tolist() == [T0 + k * EIGHT_H for k in range(6)]
    assert rates.tolist() == [funding.synthetic_rate("ETHUSDT", int(t), 7) for t in times]
