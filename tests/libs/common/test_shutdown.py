"""Shutdown semantics of the consumer loop, on a real broker and a real process.

SIGTERM: stop fetching, finish the message in hand, commit, close -> a restart re-delivers
nothing already handled. SIGKILL: a restart re-delivers at most the uncommitted messages and
loses none.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from kwont_common.settings import Settings
from kwont_common.testing import candle
from tests.libs.common.kafka_helpers import create, publish, settings_for, wait_for

pytestmark = pytest.mark.integration
PROC = Path(__file__).with_name("consumer_proc.py")
TOTAL = 150


def handled(path: Path) -> list[int]:
    """Offsets (the `trades` field carries the sequence number) of completely written lines."""
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")[:-1]  # a line cut by SIGKILL has no newline yet
    return [int(x) for x in lines]


def start(settings: Settings, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(PROC), settings.kafka_bootstrap_servers, settings.topic_prefix,
         settings.group_id, str(out)],
        stderr=subprocess.PIPE,
    )  # fmt: skip


async def committed(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        offset = await consumer.committed(TopicPartition(f"{settings.topic_prefix}candles", 0))
        return offset or 0
    finally:
        await consumer.stop()


async def prepare(bootstrap: str) -> Settings:
    settings = settings_for(bootstrap)
    await create(settings, "candles", partitions=1)
    await publish(
        settings,
        *(candle(open_time=1_700_000_000_000 + i * 60_000, trades=i) for i in range(TOTAL)),
    )
    return settings


async def test_sigterm_commits_what_it_finished_and_redelivers_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = await prepare(kafka_bootstrap)
    first, second = tmp_path / "first", tmp_path / "second"
    proc = start(settings, first)
    await wait_for(lambda: len(handled(first)) >= 20, timeout=60)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0, proc.stderr.read() if proc.stderr else ""
    done = handled(first)
    assert done == list(range(len(done))), "handled out of order or twice"
    assert len(done) < TOTAL, "the consumer finished before the signal; nothing was tested"
    assert await committed(settings) == len(done)

    proc = start(settings, second)
    try:
        await wait_for(lambda: len(handled(second)) >= TOTAL - len(done), timeout=60)
        await asyncio.sleep(0.5)  # would anything more arrive?
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 30)
    assert handled(second) == list(range(len(done), TOTAL))


async def test_sigkill_redelivers_at_most_the_uncommitted_and_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = await prepare(kafka_bootstrap)
    first, second = tmp_path / "first", tmp_path / "second"
    proc = start(settings, first)
    await wait_for(lambda: len(handled(first)) >= 30, timeout=60)
    proc.kill()
    await asyncio.to_thread(proc.wait, 30)
    before = handled(first)
    commit = await committed(settings)
    assert commit <= len(before) < TOTAL

    proc = start(settings, second)
    try:
        await wait_for(lambda: len(handled(second)) >= TOTAL - commit, timeout=60)
        await asyncio.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 30)
    after = handled(second)
    assert after == list(range(commit, TOTAL)), "restart must resume exactly at the commit"
    redelivered = set(before) & set(after)
    assert all(o >= commit for o in redelivered)
    assert set(before) | set(after) == set(range(TOTAL)), "a message was lost"
