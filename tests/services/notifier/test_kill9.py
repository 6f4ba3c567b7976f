"""kill -9 of the notifier mid-stream, then a restart: every fill is delivered, none is
skipped, and no delivery id reaches the receiver's handling twice. The only resends are of
deliveries that were in flight at the kill (their outcome never recorded); they carry the
same ``X-Kwont-Delivery`` id, which receivers deduplicate on (docs/notifications.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_notifier.settings import NotifierSettings
from tests.services.notifier.conftest import (
    Receiver,
    fill,
    make_settings,
    own_account,
    subscribe,
    until,
)

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
FILLS = 300


def environment(settings: NotifierSettings) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"KWONT_{name.upper()}"] = str(value)
    return env


def start(settings: NotifierSettings, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [BIN / "kwont-notifier"], env=environment(settings), stdout=out, stderr=out
    )


async def test_kill_9_mid_stream_skips_none_and_tells_none_twice(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any, receiver: Receiver,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db)
    await ensure_topics(settings)
    await own_account(db, "u1", "acct-k")
    sub = await subscribe(db, "u1", "acct-k", ["fill"], url=receiver.url, rate_per_minute=100_000)
    receiver.delay_s = 0.01  # a stream that takes a while, so the kill lands mid-way
    fills = [fill("acct-k", n) for n in range(FILLS)]
    producer = EventProducer(settings)
    await producer.start()
    try:
        await asyncio.gather(*(producer.publish(f) for f in fills))
    finally:
        await producer.stop()
    log = tmp_path / "notifier.log"
    proc = start(settings, log)
    try:
        await until(lambda: receiver.seen >= FILLS // 3, 60)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        at_kill = receiver.seen
        assert at_kill < FILLS, "the kill came after the stream ended"
        proc = start(settings, log)
        sent = {"subscription_id": sub, "status": "sent"}
        await until(lambda: _count(db, sent, FILLS), 90)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log.read_text()[-3000:]

    ids = [h["X-Kwont-Delivery"] for h, _, _ in receiver.requests]
    handled = set(ids)  # what a receiver that deduplicates on X-Kwont-Delivery handles
    assert handled == {f"{sub}:{f.event_id}" for f in fills}, "none skipped"
    resent = len(ids) - len(handled)
    # only what was in flight at the kill can come twice: at most the consumer's concurrency
    assert resent <= settings.consumer_concurrency, resent
    records = [d async for d in db.notification_deliveries.find({"subscription_id": sub})]
    assert len(records) == FILLS and all(r["status"] == "sent" for r in records)
    print(f"kill at {at_kill} requests; resent after restart: {resent}")


async def _count(db: Any, query: dict[str, Any], wanted: int) -> bool:
    return bool(await db.notification_deliveries.count_documents(query) >= wanted)
