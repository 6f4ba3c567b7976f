"""``GET /candles/{symbol}``: stored candles for charts, merged into bars past max_points."""

from __future__ import annotations

import numpy as np
import pytest

import kwont_ohlcv as ohlcv
from tests.services.gateway.factories import HOUR, JAN_2024, Server, candle_buckets

pytestmark = pytest.mark.integration
API = "/api/v1"


def stored(symbol: str) -> ohlcv.Columns:
    """The candles the session's market database was seeded with (10 days of 1h)."""
    return ohlcv.concat(candle_buckets(symbol), JAN_2024, JAN_2024 + 10 * 24 * HOUR)


async def test_candles_of_a_range_as_stored(gateway: Server) -> None:
    want = stored("BTCUSDT")
    async with gateway.client(gateway.admin_headers) as c:
        params = {
            "interval": "1h",
            "start": "2024-01-02T00:00:00Z",
            "end": JAN_2024 + 3 * 24 * HOUR,
        }
        r = await c.get(f"{API}/candles/BTCUSDT", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
    assert body["symbol"] == "BTCUSDT" and body["merged"] == 1
    rows = np.asarray(body["candles"])
    assert rows.shape == (48, 6)
    keep = slice(24, 72)
    cols = ("open_time", "open", "high", "low", "close", "volume")
    for i, col in enumerate(cols):
        assert np.array_equal(rows[:, i], want[col][keep]), col


async def test_more_candles_than_max_points_are_merged_into_bars(gateway: Server) -> None:
    want = stored("ETHUSDT")  # 240 candles
    async with gateway.client(gateway.admin_headers) as c:
        params = {"start": JAN_2024, "end": JAN_2024 + 10 * 24 * HOUR, "max_points": 100}
        body = (await c.get(f"{API}/candles/ethusdt", params=params)).json()
    assert body["merged"] == 3 and len(body["candles"]) == 80
    t, o, h, lo, cl, v = body["candles"][1]  # candles 3, 4, 5
    assert t == want["open_time"][3] and o == want["open"][3] and cl == want["close"][5]
    assert h == want["high"][3:6].max() and lo == want["low"][3:6].min()
    assert v == want["volume"][3:6].sum()


async def test_no_data_is_no_candles_and_a_bad_range_is_refused(gateway: Server) -> None:
    async with gateway.client(gateway.admin_headers) as c:
        r = await c.get(f"{API}/candles/NOSUCH", params={"start": JAN_2024, "end": JAN_2024 + HOUR})
        assert r.status_code == 200 and r.json()["candles"] == []
        r = await c.get(f"{API}/candles/BTCUSDT", params={"start": JAN_2024, "end": JAN_2024})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        r = await c.get(
            f"{API}/candles/BTCUSDT",
            params={"interval": "1m", "start": "2020-01-01", "end": "2024-01-01"},
        )
        assert r.status_code == 422 and "shorter range" in r.json()["error"]["message"]
