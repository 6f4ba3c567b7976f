"""The typed consumer loop every service runs.

For each message: decode into the topic's model, call the handler, publish what it returns,
and only then count the offset as done. Messages are handled in key order, each topic in
its own lane (:mod:`kwont_common.kafka.lanes`): the handlers of two messages with the same
ordering key (by default the topic and the record key, i.e. Kafka's own order) never overlap
and run in offset order, and their events go out in that order; with ``concurrency`` above
1, messages of different keys run at once, up to that many per topic (with 1, each topic's
messages one by one, a fetched batch finished before the next), and a key's next handler
starts while the events of the one before are still being acknowledged (the handler's
effects are durable when it returns; the acknowledgements of an exit's four events used to
hold up the entry behind it). Offsets: :mod:`kwont_common.kafka.offsets`. ``latest_only``
topics carry state (marks, snapshots): a queued message that a newer one of the same key
overtakes before it started is skipped. Failures (dead letters, retries):
:mod:`kwont_common.kafka.failures`.

Shutdown (``stop`` set): stop fetching, finish the message in hand, commit, close.

A consumer of a co-partitioned topic is assigned by partition number
(:class:`~kwont_common.kafka.assignment.CopartitionedAssignor`): one member gets partition
``p`` of every topic it reads, so one member owns all of an account's inputs. Its rebalance
hooks (``on_assigned``, ``on_revoked``): :mod:`kwont_common.kafka.rebalance`.

State per owned partition: ``on_handled(topic, partition, offset)`` is called once a message
is through (acknowledged, dead-lettered or skipped), :mod:`kwont_common.kafka.inputs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from kwont_common.errors import InvalidMessage
from kwont_common.events import Event
from kwont_common.kafka.assignment import CopartitionedAssignor
from kwont_common.kafka.codec import decode
from kwont_common.kafka.failures import DEAD, Abort, DeadLetterHook, FailurePolicy
from kwont_common.kafka.inputs import HandledHook, entering
from kwont_common.kafka.lanes import Job, Ordering, account_of_key, throttle, through
from kwont_common.kafka.offsets import Commits
from kwont_common.kafka.producer import EventProducer
from kwont_common.kafka.rebalance import AssignedHook, PartitionsHook, Rebalancing, Revocations
from kwont_common.metrics import HANDLER_SECONDS, MESSAGES_CONSUMED
from kwont_common.retry import retry_until
from kwont_common.settings import Settings
from kwont_common.topics import Topic, topic

log = logging.getLogger(__name__)

__all__ = [
    "AssignedHook",
    "DeadLetterHook",
    "EventConsumer",
    "Handler",
    "HandlerResult",
    "Ordering",
    "PartitionsHook",
    "account_of_key",
]

HandlerResult = Event | Sequence[Event] | None
Handler = Callable[[Any], Awaitable[HandlerResult]]
"""``async def on_candle(candle: Candle) -> Signal | None``: what it returns is published
before the message's offset is committed."""


class EventConsumer(Rebalancing):
    """Consumes base topic names (prefix applied) in the service's consumer group."""

    def __init__(
        self,
        settings: Settings,
        producer: EventProducer,
        handlers: Mapping[str, Handler],
        *,
        group_id: str | None = None,
        max_records: int = 100,
        concurrency: int = 1,
        ordering: Mapping[str, Ordering] | None = None,
        latest_only: Sequence[str] = (),
        revoke_wait_s: float = 30.0,
        fetch_max_wait_ms: int | None = None,
        on_dead_letter: DeadLetterHook | None = None,
        on_assigned: AssignedHook | None = None,
        on_revoked: PartitionsHook | None = None,
        on_handled: HandledHook | None = None,
    ) -> None:
        if not handlers:
            raise ValueError("EventConsumer needs at least one handler")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.producer = producer
        self.group_id = group_id or settings.group_id
        self.max_records = max_records
        self.concurrency = concurrency
        self.max_pending = max(max_records, 10 * concurrency)
        self.revoke_wait_s = revoke_wait_s
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self.on_handled = on_handled
        self.fetch_max_wait_ms = fetch_max_wait_ms or settings.kafka_fetch_max_wait_ms
        prefix = settings.topic_prefix
        self._routes: dict[str, tuple[Topic, Handler]] = {
            topic(name).full_name(prefix): (topic(name), handler)
            for name, handler in handlers.items()
        }
        self._ordering = {topic(n).full_name(prefix): f for n, f in (ordering or {}).items()}
        self._latest_only = {topic(name).full_name(prefix) for name in latest_only}
        # by partition number when an account topic is read; round-robin second, so a group
        # still joins while members of an older version (round-robin only) are in it
        self.copartitioned = any(meta.copartitioned for meta, _ in self._routes.values())
        self._assignors: tuple[Any, ...] = (
            (CopartitionedAssignor(), RoundRobinPartitionAssignor)
            if self.copartitioned
            else (RoundRobinPartitionAssignor,)
        )
        self._consumer: AIOKafkaConsumer | None = None
        self.running = False
        self.handled = 0
        self.skipped = 0
        self._commits = Commits(settings.service_name)
        self._failures = FailurePolicy(settings, producer, self.group_id, on_dead_letter)
        self._tails: dict[tuple[str, bytes | None], Job] = {}
        self._jobs: set[Job] = set()
        # each topic its own lane (``concurrency`` slots, ``max_pending`` in hand): a handler
        # waiting for another topic's message (risk's gate for the book's fill) never takes
        # the slots or the fetches that message needs
        self._slots = {name: asyncio.Semaphore(concurrency) for name in self._routes}
        self._error: BaseException | None = None
        self._ready, self._held = set(), {}

    @property
    def degraded(self) -> bool:
        """A message is in retry because the broker or database is down or refusing us."""
        return self._failures.degraded

    async def _start_once(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=self.settings.kafka_client_id or f"kwont-{self.settings.service_name}",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=max(100, self.settings.kafka_session_timeout_ms // 3),
            partition_assignment_strategy=self._assignors,
        )
        # the group may be joined (and the listener called) before ``start`` returns
        self._consumer = consumer
        consumer.subscribe(list(self._routes), listener=Revocations(self))
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        return consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; then finish or abandon what is in hand, commit what
        was handled and close.

        Raises:
            TransientError: the broker was not reachable within ``startup_timeout_s``.
        """
        consumer = await retry_until(
            self._start_once, "kafka consumer", self.settings.startup_timeout_s
        )
        self._consumer = consumer
        self.running = True
        try:
            while not stop.is_set() and self._error is None:
                # a full lane pauses its topic (with ``concurrency`` 1: a topic finishes
                # its batch before its next fetch)
                limit = 1 if self.concurrency == 1 else self.max_pending
                if not throttle(consumer, self._jobs, limit):
                    await asyncio.wait(
                        {j.task for j in self._jobs if j.task}, timeout=0.2,
                        return_when=asyncio.FIRST_COMPLETED,
                    )  # fmt: skip
                else:
                    batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
                    for tp, records in batch.items():
                        for record in records:
                            self._schedule(tp, record, stop)
                await self._commits.commit(consumer)
                self._commits.update_lag(consumer)
            if self._error is not None:
                raise self._error
        finally:
            self.running = False
            await self._drain()
            await self._commits.commit(consumer)
            with contextlib.suppress(Exception):  # logged by the hook's call
                await self._call_hook(self.on_revoked, set(consumer.assignment()))
            await consumer.stop()
            log.info("consumer stopped after %d messages", self.handled)

    def _schedule(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes],
                  stop: asyncio.Event) -> None:  # fmt: skip
        if self.hold(tp, record.offset):
            return
        order = self._ordering.get(record.topic)
        key = (record.topic, order(record.key) if order else record.key)
        offsets = self._commits.track(tp, record.offset)
        job = Job(tp, record, offsets)
        before = self._tails.get(key)
        if before is not None and not before.started and record.topic in self._latest_only:
            before.skip = True
        self._tails[key] = job
        self._jobs.add(job)
        job.task = asyncio.create_task(self._run_job(job, before, key, stop))

    async def _run_job(
        self, job: Job, before: Job | None, key: tuple[str, bytes | None], stop: asyncio.Event
    ) -> None:
        """Handle ``job`` once the key's previous message is handled, and publish its
        events once the previous message's are out: the handler of one message runs while
        the events of the one before it are still being acknowledged (its effects are
        durable before it returns, so the next handler sees them), and the events of a key
        still go out in order. Nothing is marked finished when shutdown, an error elsewhere
        or a revocation intervenes (the message comes back to whoever owns the partition
        next)."""
        try:
            if before is not None:
                await before.handled.wait()
            if job.skip:
                if not await through(before):  # unfinished before it: so is this one
                    return
                self.skipped += 1
            else:
                async with self._slots[job.tp.topic]:
                    if stop.is_set() or self._error is not None or job.offsets.revoked:
                        return
                    job.started = True
                    await self._handle(job, before, stop)
            job.offsets.finish(job.record.offset)
            job.done = True
            if self.on_handled is not None:
                self.on_handled(job.tp.topic, job.tp.partition, job.record.offset)
        except Abort:
            return
        except Exception as exc:  # the loop stops; what is not committed comes back
            if self._error is None:
                self._error = exc
        finally:
            job.handled.set()
            self._jobs.discard(job)
            if self._tails.get(key) is job:
                del self._tails[key]

    async def _drain(self) -> None:
        """Wait for the jobs in hand: the running ones finish (or abort, ``stop`` being set),
        the queued ones then abort."""
        tasks = {j.task for j in self._jobs if j.task}
        if tasks:
            await asyncio.wait(tasks)

    async def _handle(self, job: Job, before: Job | None, stop: asyncio.Event) -> None:
        record = job.record
        meta, handler = self._routes[record.topic]
        try:
            event = decode(meta, record.value)
        except InvalidMessage as exc:
            await self._failures.dead_letter(record, getattr(exc, "kind", "validation"), str(exc))
            return
        started = time.perf_counter()
        entering(record)
        result = await self._failures.retried(record, event, lambda: handler(event), stop)
        job.handled.set()  # the key's next message may be handled now
        if result is DEAD:
            return
        if not await through(before):  # its events go out first; it never finished:
            raise Abort  # neither may this one
        events = [result] if isinstance(result, Event) else list(result or ())

        async def publish() -> None:
            while events:  # what went out is not sent again when a retry follows
                await self.producer.publish(events[0])
                events.pop(0)

        if await self._failures.retried(record, event, publish, stop) is DEAD:
            return
        service = self.settings.service_name
        HANDLER_SECONDS.labels(service, record.topic).observe(time.perf_counter() - started)
        MESSAGES_CONSUMED.labels(service, record.topic).inc()
        self.handled += 1
