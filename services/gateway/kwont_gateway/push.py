"""The push feed: this replica's consumer of the pushed topics, feeding the hub.

Unlike the services' work consumers, it uses a consumer group of its own per replica (so
every replica sees every event), starts at the latest offset (a push is only news while it
is new; late subscribers get the current state from Mongo first) and commits automatically
(losing a push on restart is harmless, redelivering one too). Undecodable messages are
logged and skipped: dead-lettering belongs to the topics' real consumers.
"""

from __future__ import annotations

import asyncio
import logging

from kwont_common.errors import InvalidMessage
from kwont_common.events import (
    BacktestProgress,
    BacktestResult,
    Candle,
    Event,
    Fill,
    PortfolioSnapshot,
    Signal,
)
from kwont_common.kafka.codec import decode
from kwont_common.kafka.raw_consumer import open_consumer
from kwont_common.service import Task
from kwont_common.topics import topic
from kwont_gateway.hub import Push
from kwont_gateway.state import Gateway

log = logging.getLogger(__name__)

PUSHED_TOPICS = (
    "backtest-progress",
    "backtest-results",
    "candles",
    "signals",
    "fills",
    "portfolio-snapshots",
)


def to_push(event: Event) -> Push | None:
    """The hub topic of an event: backtests by job, candles by ``SYMBOL:interval``, the
    trading flow by account."""
    data = event.model_dump(mode="json")
    if isinstance(event, BacktestProgress | BacktestResult):
        return Push("backtest", event.job_id, data)
    if isinstance(event, Candle):
        return Push("candles", f"{event.symbol}:{event.interval}", data)
    if isinstance(event, Fill):
        return Push("fills", event.account, data)
    if isinstance(event, Signal):
        return Push("signals", event.account, data)
    if isinstance(event, PortfolioSnapshot):
        return Push("portfolio", event.account, data)
    return None


def push_feed(gw: Gateway) -> Task:
    """A service task consuming the pushed topics into ``gw.hub`` until stopped."""
    s = gw.settings
    routes = {topic(name).full_name(s.topic_prefix): topic(name) for name in PUSHED_TOPICS}

    async def run_push_feed(stop: asyncio.Event) -> None:
        consumer = await open_consumer(
            s,
            "kafka push consumer",
            *routes,
            client_id=f"kwont-gateway-push-{s.replica_id}",
            group_id=s.push_group,
            auto_offset_reset="latest",
            enable_auto_commit=True,
            fetch_max_wait_ms=s.kafka_background_fetch_max_wait_ms,  # screens, not trades
        )
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                if not gw.feed_ready and consumer.assignment():
                    for tp in consumer.assignment():  # resolve "latest" now, not lazily
                        await consumer.position(tp)
                    gw.feed_ready = True
                for records in batch.values():
                    for record in records:
                        try:
                            event = decode(routes[record.topic], record.value)
                        except InvalidMessage as exc:
                            log.warning("skipped undecodable push on %s: %s", record.topic, exc)
                            continue
                        push = to_push(event)
                        if push is not None:
                            gw.hub.publish(push)
        finally:
            gw.feed_ready = False
            await consumer.stop()

    return run_push_feed
