"""The rolling window is always "the last cap stored candles up to this one", whether it
grew by appending, was reloaded after a gap, or was rebuilt for a redelivered older candle
(so a redelivery computes on exactly the window of the first time)."""

from __future__ import annotations

import numpy as np
import pytest

from kwont_devstack.mongo_users import MongoEndpoint
from kwont_quant import Candles
from kwont_quant.synthetic import gbm_ohlcv
from kwont_strategy.windows import Windows
from tests.services.strategy.helpers import events_of, mongo_for, settings_for, store_candles

pytestmark = pytest.mark.integration
CAP = 12


def same(a: Candles, b: Candles) -> bool:
    return all(
        np.array_equal(getattr(a, c), getattr(b, c))
        for c in ("open_time_ms", "open", "high", "low", "close", "volume")
    )


async def test_window_is_the_same_however_it_was_built(
    mongo: MongoEndpoint, mongo_db: str, unique_name: str
) -> None:
    settings = settings_for("127.0.0.1:1", mongo.app_uri, mongo_db, unique_name)
    m = mongo_for(settings)
    bars = gbm_ohlcv(60, seed=4)
    events = events_of("BTCUSDT", bars)
    await store_candles(m.write, events)  # marketdata stores before it publishes
    windows = Windows(m.write)

    def truth(i: int) -> Candles:
        return bars[max(0, i + 1 - CAP) : i + 1]

    first = {}
    for i in range(20, 40):
        first[i] = await windows.window(events[i], CAP)
        assert same(first[i], truth(i)), f"candle {i}"
    assert windows.reloads == 1, "only the first candle loads from the store"

    # redelivery of an older candle: its own window, and the live one is not rewound
    assert same(await windows.window(events[25], CAP), first[25])
    assert same(await windows.window(events[39], CAP), first[39])
    assert windows.reloads == 2
    assert same(await windows.window(events[40], CAP), truth(40))
    assert windows.reloads == 2, "the next candle still appends"

    # a gap (41..44 never delivered, but stored) reloads from the store
    assert same(await windows.window(events[45], CAP), truth(45))
    assert windows.reloads == 3
    # a deployment needing more candles widens the window from the store
    assert same(await windows.window(events[46], 30), bars[17:47])
    # history shorter than the window: what there is
    assert same(await windows.window(events[5], CAP), bars[0:6])
    await m.close()
