"""The three fetch waits of the service shell: fast on the candle -> fill path, long where no
trade waits (the idle cost, bench/idle.py), the default for the rest; a consumer at the long
wait on tansu still hands over a record published while it idles, within that wait."""

from __future__ import annotations

import asyncio
import time

import pytest

from kwont_common.events import Candle
from kwont_common.service import Runtime, Wiring, fetch_wait_ms, serve
from kwont_common.testing import candle
from tests.libs.common.kafka_helpers import create, publish, settings_for, wait_for


@pytest.mark.unit
def test_each_wiring_gets_its_wait() -> None:
    s = settings_for("127.0.0.1:9092")
    assert (s.kafka_fast_fetch_max_wait_ms, s.kafka_fetch_max_wait_ms) == (10, 20)
    assert s.kafka_background_fetch_max_wait_ms == 500
    assert fetch_wait_ms(s, Wiring(fast_fetch=True)) == 10
    assert fetch_wait_ms(s, Wiring(background_fetch=True)) == 500
    assert fetch_wait_ms(s, Wiring()) == 20


@pytest.mark.integration
async def test_a_background_consumer_hands_over_within_its_wait(kafka_bootstrap: str) -> None:
    wait_ms = 500
    settings = settings_for(
        kafka_bootstrap, kafka_background_fetch_max_wait_ms=wait_ms, metrics_port=0
    )
    await create(settings, "candles")
    seen: list[float] = []

    async def on_candle(c: Candle) -> None:
        seen.append(time.monotonic())

    async def setup(runtime: Runtime) -> Wiring:
        return Wiring(handlers={"candles": on_candle}, background_fetch=True)

    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, setup, stop))
    try:
        await publish(settings, candle(open_time=1_700_000_000_000))
        await wait_for(lambda: len(seen) == 1)  # joined and reading
        await asyncio.sleep(1.3)  # idle: a fetch is held on the broker
        sent = time.monotonic()
        await publish(settings, candle(open_time=1_700_000_060_000))
        await wait_for(lambda: len(seen) == 2, timeout=10)
        # tansu holds an idle fetch up to its wait; the record comes with the next answer
        assert seen[1] - sent < 2 * wait_ms / 1000 + 0.5
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
