"""Candles from ``ticks`` (``KWONT_TICK_CANDLE_INTERVALS``): tumbling windows on aiokafka.

State without a changelog: the only state is the open window of each (symbol, interval),
and it is rebuilt by replaying its trades. So the committed offset of a partition is the
offset of the first trade of the oldest window still open there (or past the last trade
handled when none is open). After a crash or a rebalance, the consumer re-reads those
trades and builds exactly the same candle. Trades of windows already closed that are re-read
on the way are skipped: on first sight of a symbol the newest stored candle of each interval
says what was emitted (candles are stored before they are published), and that candle is
published again (same event id) in case the crash fell between storing and publishing.

faust-streaming was tried for this and not used; docs/marketdata.md says why.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from kwont_common.errors import InvalidMessage
from kwont_common.events import Tick
from kwont_common.events.envelope import now_ms
from kwont_common.kafka import EventProducer
from kwont_common.kafka.codec import decode
from kwont_common.kafka.failures import FailurePolicy
from kwont_common.kafka.offsets import record_lag
from kwont_common.kafka.raw_consumer import open_consumer
from kwont_common.metrics import MESSAGES_CONSUMED
from kwont_common.mongo import Database
from kwont_common.topics import topic
from kwont_marketdata import store
from kwont_marketdata.aggregate import Bar, CandleBuilder
from kwont_marketdata.outlet import Outlet, bars, candle
from kwont_marketdata.settings import MarketdataSettings

log = logging.getLogger(__name__)
TICKS = topic("ticks")


class TickCandles:
    """One consumer (group ``<group>-tick-candles``) turning ``ticks`` into ``candles``."""

    def __init__(
        self, settings: MarketdataSettings, producer: EventProducer, db: Database,
        intervals: list[str] | None = None, max_records: int = 5000,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.outlet = Outlet(producer, db)
        self.builder = CandleBuilder(tuple(intervals or settings.tick_intervals))
        self.group_id = f"{settings.group_id}-tick-candles"
        self.topic = TICKS.full_name(settings.topic_prefix)
        self.max_records = max_records
        self.handled = 0  # ticks taken (dead letters not counted)
        self.running = False
        self._seen: dict[str, TopicPartition] = {}  # symbol -> its partition
        self._feeds: dict[str, str] = {}  # symbol -> feed of its trades
        self._next: dict[TopicPartition, int] = {}  # partition -> offset after the last handled
        self._consumer: AIOKafkaConsumer | None = None
        self._failures = FailurePolicy(settings, producer, self.group_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``; commit the safe offsets and close.

        Raises:
            TransientError: the broker was not reachable within ``startup_timeout_s``.
        """
        consumer = await open_consumer(
            self.settings, "kafka consumer", self.topic, listener=_Rebalance(self),
            client_id=f"kwont-{self.settings.service_name}-tick-candles",
            group_id=self.group_id, enable_auto_commit=False, auto_offset_reset="earliest",
            # A restarted consumer waits for its killed predecessor's session to expire
            # before it gets the partitions back: keep that wait short.
            session_timeout_ms=6000, heartbeat_interval_ms=1000,
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
        )  # fmt: skip
        self._consumer = consumer
        self.running = True
        flush_s = self.settings.tick_candle_flush_s
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
                for tp, records in batch.items():
                    for record in records:
                        await self._take(tp, record)
                        self._next[tp] = record.offset + 1
                if flush_s > 0:
                    for bar in self.builder.close_due(now_ms() - int(flush_s * 1000)):
                        await self._emit(bar)
                if batch or flush_s > 0:
                    await self._commit(list(self._next))
                record_lag(consumer, self._next, self.settings.service_name)
        finally:
            self.running = False
            await self._commit(list(self._next))
            await consumer.stop()
            log.info("tick aggregator stopped after %d ticks", self.handled)

    async def _take(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            tick = decode(TICKS, record.value)
        except InvalidMessage as exc:
            await self._failures.dead_letter(record, getattr(exc, "kind", "validation"), str(exc))
            return
        assert isinstance(tick, Tick)
        if tick.symbol not in self._seen:
            await self._resume(tick, tp)
        for bar in self.builder.add(tick.symbol, tick.event_time, tick.price, tick.quantity,
                                    record.offset):  # fmt: skip
            await self._emit(bar, tick.feed)
        self.handled += 1
        MESSAGES_CONSUMED.labels(self.settings.service_name, record.topic).inc()

    async def _resume(self, tick: Tick, tp: TopicPartition) -> None:
        """First trade of a symbol here: learn (and re-publish) what was emitted before."""
        self._seen[tick.symbol] = tp
        self._feeds[tick.symbol] = tick.feed
        for interval in self.builder.intervals:
            last = await store.last(self.outlet.db, tick.symbol, interval)
            if last is None:
                continue
            self.builder.resume(tick.symbol, interval, int(last["open_time"]), last["close"])
            (bar,) = bars(tick.symbol, interval, {k: np.array([v]) for k, v in last.items()})
            await self.outlet.candle(candle(bar, tick.feed, self.settings.service_name),
                                     stored=True)  # fmt: skip

    async def _emit(self, bar: Bar, feed: str | None = None) -> None:
        await self.outlet.candle(candle(bar, feed or self._feed(bar.symbol),
                                        self.settings.service_name))  # fmt: skip

    def _feed(self, symbol: str) -> str:
        return self._feeds.get(symbol, "binance")

    async def _commit(self, partitions: list[TopicPartition]) -> None:
        """Commit, per partition, the first offset a restart must re-read."""
        if self._consumer is None or not partitions:
            return
        safe: dict[TopicPartition, int] = {}
        for tp in partitions:
            if tp not in self._next:
                continue
            oldest = [
                o for s, p in self._seen.items()
                if p == tp and (o := self.builder.oldest_offset(s)) is not None
            ]  # fmt: skip
            safe[tp] = min([*oldest, self._next[tp]])
        if not safe:
            return
        try:
            await self._consumer.commit(safe)
        except Exception as exc:  # rebalance in progress: the next commit or a replay covers it
            log.warning("offset commit failed: %s", exc)

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Drop the state of symbols in ``partitions`` (they went to another consumer)."""
        for symbol in [s for s, tp in self._seen.items() if tp in partitions]:
            self.builder.forget(symbol)
            del self._seen[symbol]
        for tp in partitions:
            self._next.pop(tp, None)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: TickCandles) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner._commit(list(revoked))
        self.owner.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
