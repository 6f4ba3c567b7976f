"""kill -9 of the execution service (a real ``python -m kwont_execution`` process) in the
middle of a stream of entries and stop-triggering candles, then a restart: every fill
exists exactly once, at the engine's price; re-published copies carry the same ids."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kwont_common.events import Fill
from kwont_execution.settings import ExecutionSettings
from kwont_quant import live
from tests.services.execution.test_execution_paper import (
    MIN,
    SLIP,
    T0,
    bar,
    db,  # noqa: F401 - fixture
    dec,
    entry,
    expected_entry,
    positions,
    prepare,
    read_topic,
    same,
    send,
    settings,  # noqa: F401 - fixture
    store_candles,
    until,
)

pytestmark = pytest.mark.integration
SYMBOLS = [f"S{i:03d}USDT" for i in range(80)]


def start(cfg: ExecutionSettings, log: Path) -> subprocess.Popen[bytes]:
    """The service as a process, its stderr appended to ``log`` (a pipe nobody reads
    would block the service once it filled up)."""
    env = {
        **os.environ,
        "KWONT_KAFKA_BOOTSTRAP_SERVERS": cfg.kafka_bootstrap_servers,
        "KWONT_KAFKA_IDEMPOTENCE": "false",
        "KWONT_TOPIC_PREFIX": cfg.topic_prefix,
        "KWONT_CONSUMER_GROUP": cfg.group_id,
        "KWONT_MONGO_URI": cfg.mongo_uri,
        "KWONT_MONGO_DATABASE": cfg.mongo_database,
        "KWONT_MONGO_MARKET_DATABASE": cfg.mongo_market_database,
        "KWONT_METRICS_PORT": "0",
        "KWONT_LOG_LEVEL": "WARNING",
        "KWONT_RETRY_BACKOFF_MAX_S": "0.2",
    }
    with log.open("ab") as err:
        return subprocess.Popen([sys.executable, "-m", "kwont_execution"], env=env, stderr=err)


async def test_kill_9_mid_stream_then_restart_loses_and_duplicates_no_fill(
    settings: ExecutionSettings,  # noqa: F811
    db: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    await prepare(settings, db)
    orders = [entry("BUY", symbol=s) for s in SYMBOLS]
    px, sl, tp, liq = expected_entry(1)
    candles = [
        bar(T0 + MIN, 100.0, 100.2, 97.0, 98.0, symbol=s)  # stop-loss
        if i % 2 == 0
        else bar(T0 + MIN, 100.0, 104.0, 99.8, 103.0, symbol=s)  # take-profit
        for i, s in enumerate(SYMBOLS)
    ]
    exits = {
        c.symbol: live.protective_exit(1, c.open, c.high, c.low, sl, tp, liq, SLIP) for c in candles
    }
    total = 2 * len(SYMBOLS)
    await store_candles(db, *candles)
    log = tmp_path / "execution.log"
    proc = start(settings, log)
    try:
        await send(settings, *orders, *candles)
        await until(lambda: _count(db, 20), timeout=60)
        proc.kill()
        await asyncio.to_thread(proc.wait, 30)
        at_kill = await db.fills.count_documents({})
        assert at_kill < total, "all done before the kill: nothing was tested"
        print(f"fills stored at the kill: {at_kill} of {total}")
        proc = start(settings, log)
        try:
            await until(lambda: _count(db, total), timeout=60)
        except TimeoutError:
            stuck = await _state(db)
            raise AssertionError(
                f"not every fill after the restart: {stuck}\n"
                f"execution's stderr (tail):\n{log.read_text(errors='replace')[-4000:]}"
            ) from None
        raw = await read_topic(
            settings.kafka_bootstrap_servers, f"{settings.topic_prefix}fills", total, settle=1.5
        )
    finally:
        proc.kill()
        await asyncio.to_thread(proc.wait, 30)
    stored = [d async for d in db.fills.find()]
    assert len(stored) == total
    published = [Fill.model_validate_json(v) for v in raw]
    by_id: dict[Any, Fill] = {}
    for f in published:
        assert same(by_id.setdefault(f.event_id, f), f), "a re-published fill changed"
    assert len(by_id) == total
    for f in by_id.values():
        if f.exit_reason is None:
            assert f.price == dec(px)
        else:
            hit = exits[f.symbol]
            assert hit is not None and (f.exit_reason, f.price) == (hit[1], dec(hit[0]))
    assert await positions(db, settings) == {}  # every position opened and closed, once
    assert sum(Decimal(d["quantity"]) for d in stored) == Decimal("0.5") * total


async def _state(database: Any) -> str:
    """Where the test stands: fills, open positions, orders claimed but not answered."""
    fills = await database.fills.count_documents({})
    open_ = len({k for d in await database.execution_state.find().to_list(None)
                 for k in (p["key"] for p in d["state"]["positions"])})  # fmt: skip
    answered = await database.exec_orders.count_documents({"outcome": {"$exists": True}})
    return f"{fills} fills, {open_} positions open in the snapshots, {answered} orders answered"


async def _count(database: Any, n: int) -> bool:
    return bool(await database.fills.count_documents({}) >= n)
