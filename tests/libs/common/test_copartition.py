"""Co-partitioning on a real broker (tansu): every record of one account lands on one
partition number across the account topics, published through ``EventProducer.publish``
(the path every service's producer takes), and a service reading a co-partitioned topic
refuses to start when those topics' partition counts differ."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from kwont_common import events as ev
from kwont_common.errors import ConfigurationError
from kwont_common.kafka.admin import ensure_topics
from kwont_common.kafka.partitioning import account_partition
from kwont_common.service import Runtime, Wiring, serve
from kwont_common.settings import Settings
from kwont_common.testing import sample_events, serving
from kwont_common.topics import copartitioned_names
from kwont_devstack.mongo_users import MongoEndpoint
from tests.libs.common.kafka_helpers import publish, settings_for

pytestmark = pytest.mark.integration

PARTITIONS = 4
ACCOUNTS = [f"acct-{i}" for i in range(6)]
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"]
TRADING = ["signals", "orders", "fills", "order-updates", "risk-rejections"]


def events_of(account: str) -> list[ev.Event]:
    """One of each trading event per symbol and a snapshot, for ``account``."""
    samples = sample_events()
    out: list[ev.Event] = []
    for name in TRADING:
        for symbol in SYMBOLS:
            out.append(samples[name].model_copy(
                update={"event_id": uuid.uuid4(), "account": account, "symbol": symbol}
            ))  # fmt: skip
    out.append(samples["portfolio-snapshots"].model_copy(
        update={"event_id": uuid.uuid4(), "account": account}
    ))  # fmt: skip
    return out


async def partitions_read(settings: Settings, count: int) -> dict[str, set[int]]:
    """Partition numbers each key's account was read from, over every co-partitioned topic."""
    consumer = AIOKafkaConsumer(
        *copartitioned_names(settings.topic_prefix),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=f"read-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    seen: dict[str, set[int]] = defaultdict(set)
    read = 0
    try:
        async with asyncio.timeout(60):
            while read < count:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        assert r.key is not None
                        seen[r.key.decode().split(":")[0]].add(r.partition)
                        read += 1
    finally:
        await consumer.stop()
    return seen


async def test_one_accounts_records_share_a_partition_on_every_account_topic(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap, topic_partitions=PARTITIONS)
    await ensure_topics(settings, copartitioned_names(settings.topic_prefix))
    sent = [e for account in ACCOUNTS for e in events_of(account)]
    await publish(settings, *sent)

    seen = await partitions_read(settings, len(sent))
    assert seen == {a: {account_partition(a, PARTITIONS)} for a in ACCOUNTS}


async def fills_only(runtime: Runtime) -> Wiring:
    async def on_fill(event: ev.Event) -> None:
        return None

    return Wiring(handlers={"fills": on_fill})


async def candles_only(runtime: Runtime) -> Wiring:
    async def on_candle(event: ev.Event) -> None:
        return None

    return Wiring(handlers={"candles": on_candle})


async def create_with_fills_at(settings: Settings, fills: int) -> None:
    """The co-partitioned topics at ``topic_partitions``, ``fills`` at ``fills``; candles."""
    others = [n for n in copartitioned_names(settings.topic_prefix) if not n.endswith(".fills")]
    await ensure_topics(settings, [*others, f"{settings.topic_prefix}candles"])
    await ensure_topics(
        settings.model_copy(update={"topic_partitions": fills}), [f"{settings.topic_prefix}fills"]
    )


async def test_a_service_reading_an_account_topic_refuses_differing_counts(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap, topic_partitions=3)
    await create_with_fills_at(settings, 2)
    p = settings.topic_prefix

    with pytest.raises(ConfigurationError) as refused:
        await asyncio.wait_for(serve(settings, fills_only), 60)
    message = str(refused.value)
    assert f"{p}fills has 2" in message
    for name in ("signals", "orders", "order-updates", "risk-rejections", "portfolio-snapshots",
                 "funding-payments"):  # fmt: skip
        assert f"{p}{name} has 3" in message
    assert "kwont-topics create" in message and "KWONT_TOPIC_PARTITIONS=3" in message

    # market data is read outside the account groups: a candles-only service is not checked
    async with serving(settings, candles_only):
        await asyncio.sleep(0.5)


async def test_a_service_reading_an_account_topic_starts_on_one_count(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap, topic_partitions=3)
    await create_with_fills_at(settings, 3)
    async with serving(settings, fills_only):
        await asyncio.sleep(0.5)


async def test_the_portfolio_process_exits_2_naming_the_counts(
    kafka_bootstrap: str, mongo: MongoEndpoint, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topic_partitions=3)
    await create_with_fills_at(settings, 2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    env = {**os.environ, "KWONT_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "KWONT_KAFKA_IDEMPOTENCE": "false", "KWONT_TOPIC_PREFIX": settings.topic_prefix,
           "KWONT_METRICS_PORT": str(metrics_port), "KWONT_MONGO_URI": mongo.app_uri,
           "KWONT_MONGO_READONLY_URI": mongo.readonly_uri}  # fmt: skip
    log = tmp_path / "portfolio.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [Path(sys.executable).parent / "kwont-portfolio"], env=env, stdout=out, stderr=out
        )
        try:
            code = await asyncio.to_thread(proc.wait, 90)
        finally:
            if proc.poll() is None:  # it kept running: the check did not refuse
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert code == 2, text[-2000:]
    assert f"{settings.topic_prefix}fills has 2" in text
    assert "kwont-topics create" in text
