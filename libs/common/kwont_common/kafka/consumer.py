"""The typed consumer loop every service runs.

For each message: decode into the topic's model, call the handler, publish what it returns,
and only then count the offset as done. Messages are handled in key order: the handlers of
two messages with the same ordering key (by default the topic and the record key, i.e.
Kafka's own order) never overlap and run in offset order, and their events go out in that
order; with ``concurrency`` above 1, messages of different keys run at once, up to that many
per topic (each topic its own lane, so one topic's waiting handlers never starve another's;
with 1, each topic's messages one by one, a fetched batch finished before the next), and a
key's next handler starts while the events of the one before are still being
acknowledged (the handler's effects are durable when it returns; the acknowledgements of an
exit's four events used to hold up the entry behind it). A partition's committed offset is
its lowest unfinished one, so a restart re-delivers every message not yet handled (and
possibly some handled after it: handlers are idempotent). Offsets are committed after each
fetch round, when partitions are revoked, and at shutdown. ``latest_only`` topics carry
state (marks, snapshots): a queued message that a newer one of the same key overtakes
before it started is skipped. Failures:

- undecodable or invalid bytes, or a handler raising ``InvalidMessage``: the original bytes
  and the error go to ``<topic>.dlq`` and the loop moves on;
- transient errors (``TransientError``, broker/database connection errors): retried with
  capped backoff until they pass or shutdown is asked (then the message is not committed and
  will be redelivered);
- any other handler error: retried ``handler_max_attempts`` times, then dead-lettered.

Publishing what a handler returned is retried the same way, without calling the handler
again (what went out is not sent twice).

Shutdown (``stop`` set, e.g. by SIGTERM): stop fetching, finish the message in hand, commit,
close. A SIGKILL re-delivers at most the messages since the last commit.

A consumer of a co-partitioned topic is assigned by partition number
(:class:`~kwont_common.kafka.assignment.CopartitionedAssignor`): one member gets partition
``p`` of every topic it reads, so one member owns all of an account's inputs. The hooks
``on_assigned(partitions)`` (after an assignment, before its messages are fetched) and
``on_revoked(partitions)`` (after what was in hand for them is finished and committed, and at
shutdown after the last commit) let a service load and drop state per owned partition.
``on_assigned`` may return ``{partition: next_offset}``: those partitions are read from there
instead of from the committed offset (state loaded up to a snapshot replays what follows it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from kwont_common.errors import InvalidMessage, is_transient
from kwont_common.events import DeadLetter, Event
from kwont_common.kafka.assignment import CopartitionedAssignor
from kwont_common.kafka.codec import decode
from kwont_common.kafka.producer import EventProducer
from kwont_common.metrics import CONSUMER_LAG, HANDLER_SECONDS, MESSAGES_CONSUMED, MESSAGES_FAILED
from kwont_common.retry import backoff, retry_until
from kwont_common.settings import Settings
from kwont_common.topics import Topic, topic

log = logging.getLogger(__name__)

HandlerResult = Event | Sequence[Event] | None
Handler = Callable[[Any], Awaitable[HandlerResult]]
DeadLetterHook = Callable[[DeadLetter], Awaitable[None]]
"""Called after a message was dead-lettered, e.g. to mark the work it carried failed."""
"""``async def on_candle(candle: Candle) -> Signal | None``: what it returns is published
before the message's offset is committed."""
PartitionsHook = Callable[[set[TopicPartition]], Awaitable[None]]
"""``on_revoked``: called with the (full topic names') partitions."""
AssignedHook = Callable[[set[TopicPartition]], Awaitable[Mapping[TopicPartition, int] | None]]
"""``on_assigned``: called with the partitions now held; what it returns (``None``: nothing)
maps some of them to the offset to read next instead of the committed one."""


class _Abort(Exception):
    """Shutdown asked while a message was still failing transiently: leave it uncommitted."""


_DEAD = object()
"""What a step returns when its message went to the dead-letter topic instead."""


Ordering = Callable[[bytes | None], bytes | None]
"""From a record's key to the key its messages are ordered by (``None``: the record key)."""


def account_of_key(key: bytes | None) -> bytes | None:
    """``account`` of an ``account:SYMBOL`` key: one account's messages in order across its
    symbols (symbols never contain ``:``)."""
    return None if key is None else key.rsplit(b":", 1)[0]


class _Offsets:
    """Offsets of one assigned partition in hand, in fetch order; the commit point is the
    lowest one not finished. ``revoked`` once the partition went to another member."""

    def __init__(self) -> None:
        self.pending: dict[int, bool] = {}
        self.committable: int | None = None
        self.committed: int | None = None
        self.revoked = False

    def add(self, offset: int) -> None:
        self.pending[offset] = False

    def finish(self, offset: int) -> None:
        if offset not in self.pending:
            return
        self.pending[offset] = True
        while self.pending:
            first = next(iter(self.pending))
            if not self.pending[first]:
                break
            del self.pending[first]
            self.committable = first + 1


class _Job:
    """One fetched message on its way through the handler. ``handled``: its handler is
    through (or it never will run); ``done``: its events are out and its offset finished."""

    __slots__ = ("done", "handled", "offsets", "record", "skip", "started", "task", "tp")

    def __init__(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes], offsets: _Offsets
    ) -> None:
        self.tp = tp
        self.record = record
        self.offsets = offsets
        self.started = False
        self.skip = False
        self.task: asyncio.Task[None] | None = None
        self.handled = asyncio.Event()
        self.done = False


class EventConsumer:
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
        self.on_dead_letter = on_dead_letter
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
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
        self._positions: dict[TopicPartition, int] = {}
        self._offsets: dict[TopicPartition, _Offsets] = {}
        self._tails: dict[tuple[str, bytes | None], _Job] = {}
        self._jobs: set[_Job] = set()
        # each topic its own lane (``concurrency`` slots, ``max_pending`` in hand): a handler
        # waiting for another topic's message (risk's gate for the book's fill) never takes
        # the slots or the fetches that message needs
        self._slots = {name: asyncio.Semaphore(concurrency) for name in self._routes}
        self._error: BaseException | None = None

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
        consumer.subscribe(list(self._routes), listener=_Revocations(self))
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
                if not self._throttle(consumer):
                    await asyncio.wait(
                        {j.task for j in self._jobs if j.task}, timeout=0.2,
                        return_when=asyncio.FIRST_COMPLETED,
                    )  # fmt: skip
                else:
                    batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
                    for tp, records in batch.items():
                        for record in records:
                            self._schedule(tp, record, stop)
                await self._commit(consumer)
                self._update_lag(consumer)
            if self._error is not None:
                raise self._error
        finally:
            self.running = False
            await self._drain()
            await self._commit(consumer)
            with contextlib.suppress(Exception):  # logged by the hook's call
                await self._call_hook(self.on_revoked, set(consumer.assignment()))
            await consumer.stop()
            log.info("consumer stopped after %d messages", self.handled)

    def _throttle(self, consumer: AIOKafkaConsumer) -> bool:
        """Pause the partitions of the topics whose lane is full (``max_pending`` in hand;
        with ``concurrency`` 1 any: a topic finishes its batch before its next fetch), resume
        the others; whether any assigned partition is left to fetch."""
        limit = 1 if self.concurrency == 1 else self.max_pending
        in_hand: dict[str, int] = {}
        for job in self._jobs:
            in_hand[job.tp.topic] = in_hand.get(job.tp.topic, 0) + 1
        assigned = consumer.assignment()
        full = {tp for tp in assigned if in_hand.get(tp.topic, 0) >= limit}
        if full:
            consumer.pause(*full)
        free = set(assigned) - full
        if free & consumer.paused():
            consumer.resume(*(free & consumer.paused()))
        return bool(free) or not assigned

    def _schedule(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes],
                  stop: asyncio.Event) -> None:  # fmt: skip
        order = self._ordering.get(record.topic)
        key = (record.topic, order(record.key) if order else record.key)
        offsets = self._offsets.setdefault(tp, _Offsets())
        offsets.add(record.offset)
        self._positions.setdefault(tp, record.offset)  # lag counts from here until a commit
        job = _Job(tp, record, offsets)
        before = self._tails.get(key)
        if before is not None and not before.started and record.topic in self._latest_only:
            before.skip = True
        self._tails[key] = job
        self._jobs.add(job)
        job.task = asyncio.create_task(self._run_job(job, before, key, stop))

    async def _run_job(
        self, job: _Job, before: _Job | None, key: tuple[str, bytes | None], stop: asyncio.Event
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
                if not await _through(before):  # unfinished before it: so is this one
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
        except _Abort:
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

    async def _commit(self, consumer: AIOKafkaConsumer,
                      partitions: set[TopicPartition] | None = None) -> None:  # fmt: skip
        due = {
            tp: o.committable
            for tp, o in self._offsets.items()
            if o.committable is not None and o.committable != o.committed
            and (partitions is None or tp in partitions)
        }  # fmt: skip
        if not due:
            return
        try:
            await consumer.commit(dict(due))
        except Exception as exc:  # rebalance or broker loss: the batch will be redelivered
            log.warning("offset commit failed, messages will be redelivered: %s", exc)
            return
        for tp, offset in due.items():
            if tp in self._offsets:
                self._offsets[tp].committed = offset
            self._positions[tp] = offset

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Before partitions go to another member: finish what is in hand for them (bounded
        by ``revoke_wait_s``), commit it, and forget them (their queued messages abort);
        then ``on_revoked``."""
        await self._settle(partitions & set(self._offsets))
        await self._call_hook(self.on_revoked, partitions)

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        """After an assignment, before its messages are fetched: ``on_assigned``, then seek
        the partitions it returned offsets for (aiokafka allows it in the listener; the
        committed offset is looked up only for partitions without a position).

        Raises:
            ValueError: the hook returned a partition not assigned or a negative offset
                (stops the loop, as a failing hook does).
        """
        starts = await self._call_hook(self.on_assigned, partitions)
        if not starts:
            return
        wrong = {tp: n for tp, n in starts.items() if tp not in partitions or n < 0}
        if wrong:
            self._fail(ValueError(f"on_assigned returned offsets for {wrong}: not assigned "
                                  "partitions, or negative offsets"))  # fmt: skip
        consumer = self._consumer
        assert consumer is not None  # set before subscribing
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
            log.info("partition %s starts at offset %d (on_assigned)", tp, offset)

    async def _call_hook(
        self, hook: Callable[[set[TopicPartition]], Awaitable[Any]] | None,
        partitions: set[TopicPartition],
    ) -> Any:  # fmt: skip
        """A failing hook stops the loop (the state it keeps would be wrong); what is not
        committed comes back to the next owner. What the hook returned."""
        if hook is None or not partitions:
            return None
        try:
            return await hook(set(partitions))
        except Exception as exc:
            log.exception("%s hook failed", getattr(hook, "__name__", "rebalance"))
            self._fail(exc)

    def _fail(self, exc: Exception) -> NoReturn:
        """Stop the loop with ``exc`` (raised here, and again by ``run``)."""
        if self._error is None:
            self._error = exc
        raise exc

    async def _settle(self, ours: set[TopicPartition]) -> None:
        consumer = self._consumer
        if not ours:
            return
        waiting = {j.task for j in self._jobs if j.task and j.tp in ours and j.started}
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=self.revoke_wait_s)
            if late:
                log.warning("%d messages still in hand %.0fs into a rebalance; they may be "
                            "handled twice", len(late), self.revoke_wait_s)  # fmt: skip
        if consumer is not None:
            await self._commit(consumer, ours)
        for tp in ours:
            self._offsets.pop(tp).revoked = True
            self._positions.pop(tp, None)

    def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            position = self._positions.get(tp)
            if high is None or position is None:
                continue
            CONSUMER_LAG.labels(self.settings.service_name, tp.topic, str(tp.partition)).set(
                max(0, high - position)
            )

    async def _handle(self, job: _Job, before: _Job | None, stop: asyncio.Event) -> None:
        record = job.record
        meta, handler = self._routes[record.topic]
        try:
            event = decode(meta, record.value)
        except InvalidMessage as exc:
            await self._dead_letter(record, getattr(exc, "kind", "validation"), str(exc))
            return
        started = time.perf_counter()
        result = await self._retried(record, event, lambda: handler(event), stop)
        job.handled.set()  # the key's next message may be handled now
        if result is _DEAD:
            return
        if not await _through(before):  # its events go out first; it never finished:
            raise _Abort  # neither may this one
        events = list(_as_list(result))

        async def publish() -> None:
            while events:  # what went out is not sent again when a retry follows
                await self.producer.publish(events[0])
                events.pop(0)

        if await self._retried(record, event, publish, stop) is _DEAD:
            return
        service = self.settings.service_name
        HANDLER_SECONDS.labels(service, record.topic).observe(time.perf_counter() - started)
        MESSAGES_CONSUMED.labels(service, record.topic).inc()
        self.handled += 1

    async def _retried(
        self,
        record: ConsumerRecord[bytes, bytes],
        event: Event,
        step: Callable[[], Awaitable[Any]],
        stop: asyncio.Event,
    ) -> Any:
        """``step()`` (the handler, or publishing what it returned) with the retry policy
        of the module's docstring; ``_DEAD`` when the message was dead-lettered instead.

        Raises:
            _Abort: shutdown asked while it was still failing.
        """
        service = self.settings.service_name
        attempt = 0
        while True:
            attempt += 1
            try:
                return await step()
            except InvalidMessage as exc:
                await self._dead_letter(record, "handler", str(exc))
                return _DEAD
            except Exception as exc:
                transient = is_transient(exc)
                MESSAGES_FAILED.labels(service, record.topic, "retry").inc()
                if not transient and attempt >= self.settings.handler_max_attempts:
                    # the cause first: the log line shows only the first line
                    text = "".join(traceback.format_exception(exc))[-4000:]
                    cause = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
                    await self._dead_letter(
                        record, "handler", f"after {attempt} attempts: {cause}\n{text}"
                    )
                    return _DEAD
                delay = backoff(attempt, self.settings.retry_backoff_max_s)
                log.warning(
                    "handler failed (%s, attempt %d), retrying in %.2fs: %s",
                    "transient" if transient else "error",
                    attempt,
                    delay,
                    exc,
                    extra=_context(record, event),
                )
                if stop.is_set():
                    raise _Abort from exc
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                if stop.is_set() and transient:
                    raise _Abort from exc

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], kind: str, error: str
    ) -> None:
        """Publish the original bytes and the error to ``<topic>.dlq`` (waits for acks)."""
        letter = DeadLetter(
            event_time=record.timestamp if record.timestamp >= 0 else 0,
            source=self.settings.service_name,
            original_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            original_key=record.key.decode("utf-8", "replace") if record.key else None,
            payload_b64=base64.b64encode(record.value or b"").decode(),
            error_type=kind,
            error=error,
            consumer_group=self.group_id,
        )
        await self.producer.publish(letter, topic=f"{record.topic}.dlq")
        MESSAGES_FAILED.labels(self.settings.service_name, record.topic, kind).inc()
        log.error(
            "dead-lettered %s message: %s",
            kind,
            error.splitlines()[0] if error else "",
            extra={"topic": record.topic, "partition": record.partition, "offset": record.offset},
        )
        if self.on_dead_letter is not None:
            try:
                await self.on_dead_letter(letter)
            except Exception:  # the letter is out; its hook must not stall the partition
                log.exception("dead-letter hook failed", extra={"topic": record.topic})


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        try:
            await self.owner.revoked(set(revoked))
        except Exception as exc:
            if exc is not self.owner._error:  # a hook's is logged and stops the loop
                raise  # aiokafka logs it

    async def on_partitions_assigned(self, assigned: Any) -> None:
        try:
            await self.owner.assigned(set(assigned))
        except Exception as exc:
            if exc is not self.owner._error:
                raise


async def _through(before: _Job | None) -> bool:
    """Wait until the key's previous message is through; whether it finished (its events
    out, its offset done)."""
    if before is None or before.task is None or before.done:
        return True
    await asyncio.wait({before.task})
    return before.done


def _as_list(result: HandlerResult) -> Sequence[Event]:
    if result is None:
        return ()
    if isinstance(result, Event):
        return (result,)
    return result


def _context(record: ConsumerRecord[bytes, bytes], event: Event) -> dict[str, object]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "event_id": event.event_id,
        "correlation_id": getattr(event, "correlation_id", None),
    }
