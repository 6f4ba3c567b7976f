"""``load binance``: python-binance against a local Binance-format server, into SecantusDB."""

from __future__ import annotations

import numpy as np
import pytest

from kwont_common.mongo import Database
from kwont_marketdata import binance_history, binance_rest, load, store
from kwont_marketdata.settings import MarketdataSettings
from tests.services.marketdata.vendors import MINUTE, T0, Binance, klines

pytestmark = pytest.mark.integration
DAY = 86_400_000


def served_columns(rows: list[list[object]]) -> dict[str, np.ndarray]:
    a = np.array(rows, dtype=object)
    cols = {"open_time": 0, "open": 1, "high": 2, "low": 3, "close": 4, "volume": 5,
            "quote_volume": 7, "trades": 8}  # fmt: skip
    return {name: a[:, i].astype(np.float64) for name, i in cols.items()}


async def test_cli_pages_over_1000_klines_and_stores_exactly_them_idempotently(
    binance: Binance, settings: MarketdataSettings, db: Database
) -> None:
    vendor = binance
    rows = klines(2 * 1440 + 30)  # two days in range, and half an hour after it
    vendor.spot[("BTCUSDT", "1m")] = rows
    args = load.parser().parse_args(
        ["load", "binance", "--symbol", "btcusdt", "--interval", "1m",
         "--start", "2024-01-01", "--end", "2024-01-03"]
    )  # fmt: skip
    assert await load.command(args, settings) == 0
    assert vendor.requests.count("/api/v3/klines") == 3  # 1000 + 1000 + 880
    stored = await store.read_range(db, "BTCUSDT", "1m", T0, T0 + 3 * DAY)
    expected = served_columns(rows[: 2 * 1440])
    for name, values in expected.items():
        np.testing.assert_array_equal(stored[name], values, err_msg=name)
    docs = await db.candles.find({}, {"_id": 1, "feed": 1, "updated_at": 1}).to_list(None)
    assert len(docs) == 2 and {d["feed"] for d in docs} == {"binance"}

    assert await load.command(args, settings) == 0  # again: same candles, same buckets
    again = await store.read_range(db, "BTCUSDT", "1m", T0, T0 + 3 * DAY)
    for name, values in expected.items():
        np.testing.assert_array_equal(again[name], values, err_msg=name)
    assert await db.candles.count_documents({}) == 2


async def test_a_gap_is_refused_with_its_position_and_nothing_is_written(
    binance: Binance, settings: MarketdataSettings, db: Database
) -> None:
    vendor = binance
    rows = klines(1500)
    del rows[600:603]  # 10:00, 10:01, 10:02 missing, as in Binance's own outages
    vendor.spot[("ETHUSDT", "1m")] = rows
    async with binance_rest.connect(settings) as client:
        with pytest.raises(binance_history.GapError) as refused:
            await binance_history.load(db, client, "ETHUSDT", "1m", T0, T0 + 1500 * MINUTE)
        assert "from 2024-01-01T10:00Z" in str(refused.value)
        assert "to 2024-01-01T10:03Z" in str(refused.value)
        assert await db.candles.count_documents({}) == 0

        n = await binance_history.load(
            db, client, "ETHUSDT", "1m", T0, T0 + 1500 * MINUTE, allow_gaps=True
        )
    assert n == 1497
    stored = await store.read_range(db, "ETHUSDT", "1m", T0, T0 + 2 * DAY)
    np.testing.assert_array_equal(stored["open_time"], served_columns(rows)["open_time"])


async def test_missing_tail_and_unknown_symbol_are_refused_by_the_cli(
    binance: Binance, settings: MarketdataSettings, db: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    vendor = binance
    vendor.spot[("SOLUSDT", "1h")] = klines(30, step=60 * MINUTE)  # a day and 6 hours
    base = ["load", "binance", "--interval", "1h", "--start", "2024-01-01", "--end", "2024-01-03"]

    async def run(symbol: str) -> int:
        return await load.command(load.parser().parse_args([*base, "--symbol", symbol]), settings)

    assert await run("SOLUSDT") == 2
    assert "from 2024-01-02T06:00Z" in capsys.readouterr().err
    assert await run("NOPE") == 3
    assert "Invalid symbol" in capsys.readouterr().err
    assert await db.candles.count_documents({}) == 0


async def test_futures_history_is_kept_apart_from_spot(
    binance: Binance, settings: MarketdataSettings, db: Database
) -> None:
    vendor = binance
    vendor.futures[("BTCUSDT", "1h")] = klines(48, step=60 * MINUTE, seed=2)
    vendor.spot[("BTCUSDT", "1h")] = klines(48, step=60 * MINUTE, seed=3)
    async with binance_rest.connect(settings) as client:
        end = T0 + 2 * DAY
        assert await binance_history.load(db, client, "BTCUSDT", "1h", T0, end, "futures") == 48
        assert vendor.requests.count("/fapi/v1/klines") == 1
        with pytest.raises(ValueError, match="already holds binance-futures candles"):
            await binance_history.load(db, client, "BTCUSDT", "1h", T0, end, "spot")
    docs = await db.candles.find({}, {"feed": 1}).to_list(None)
    assert [d["feed"] for d in docs] == ["binance-futures"] * 2  # two day buckets, untouched
