"""The consumer's ordering contract against a real broker (tansu): messages of different keys
run at once, one key's messages stay in order, a partition is committed only up to its lowest
unfinished message, and a ``latest_only`` topic skips state a newer message overtook."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from kwont_common import events as ev
from kwont_common.errors import TransientError
from kwont_common.kafka import EventConsumer, EventProducer, account_of_key
from kwont_common.metrics import MESSAGES_PRODUCED
from kwont_common.settings import Settings
from kwont_common.testing import sample_events
from tests.libs.common.kafka_helpers import create, publish, read_all, settings_for, wait_for

pytestmark = pytest.mark.integration


def signal(account: str, symbol: str, n: int) -> ev.Signal:
    base = sample_events()["signals"]
    assert isinstance(base, ev.Signal)
    return base.model_copy(update={
        "event_id": uuid.uuid4(), "account": account, "symbol": symbol, "event_time": n,
    })  # fmt: skip


def snapshot(account: str, n: int) -> ev.PortfolioSnapshot:
    base = sample_events()["portfolio-snapshots"]
    assert isinstance(base, ev.PortfolioSnapshot)
    return base.model_copy(update={"event_id": uuid.uuid4(), "account": account, "event_time": n})


class Consuming:
    """A consumer of the test's group running in the background."""

    def __init__(self, settings: Settings, handlers: dict[str, Any], **options: Any) -> None:
        self.settings = settings
        self.handlers = handlers
        self.options = options
        self.stop = asyncio.Event()

    async def __aenter__(self) -> EventConsumer:
        self.producer = EventProducer(self.settings)
        await self.producer.start()
        self.consumer = EventConsumer(self.settings, self.producer, self.handlers, **self.options)
        self.task = asyncio.create_task(self.consumer.run(self.stop))
        return self.consumer

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)
        await self.producer.stop()


async def test_other_keys_go_on_while_one_waits_and_each_key_stays_in_order(
    kafka_bootstrap: str,
) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals")
    release = asyncio.Event()
    seen: list[tuple[str, int]] = []

    async def on_signal(s: ev.Signal) -> None:
        if s.account == "slow" and s.event_time == 1:
            await release.wait()
        seen.append((f"{s.account}:{s.symbol}", s.event_time))

    sent = [signal("slow", "AUSDT", 1), signal("fast", "AUSDT", 2), signal("slow", "BUSDT", 3),
            signal("fast", "BUSDT", 4), signal("fast", "AUSDT", 5)]  # fmt: skip
    await publish(settings, *sent)
    async with Consuming(settings, {"signals": on_signal}, concurrency=4,
                         ordering={"signals": account_of_key}):  # fmt: skip
        await wait_for(lambda: len(seen) == 3)
        # the other account went past the waiting one; the waiting account's second
        # message (another symbol, same account) did not
        assert seen == [("fast:AUSDT", 2), ("fast:BUSDT", 4), ("fast:AUSDT", 5)]
        await asyncio.sleep(0.3)
        assert len(seen) == 3
        release.set()
        await wait_for(lambda: len(seen) == 5)
    assert seen[3:] == [("slow:AUSDT", 1), ("slow:BUSDT", 3)]


async def test_the_commit_stops_at_the_oldest_unfinished_message(kafka_bootstrap: str) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals")
    stuck = asyncio.Event()
    first: list[int] = []

    async def failing_first(s: ev.Signal) -> None:
        if s.event_time == 1:
            stuck.set()
            raise TransientError("venue down")  # retried until shutdown, never finished
        first.append(s.event_time)

    await publish(settings, *(signal(f"acct{n}", "AUSDT", n) for n in (1, 2, 3)))
    async with Consuming(settings, {"signals": failing_first}, concurrency=4):
        await wait_for(lambda: stuck.is_set() and len(first) == 2)
    assert first == [2, 3]

    again: list[int] = []

    async def healthy(s: ev.Signal) -> None:
        again.append(s.event_time)

    # offsets 1 and 2 were handled after offset 0, which never finished: all three come back
    async with Consuming(settings, {"signals": healthy}, concurrency=4):
        await wait_for(lambda: len(again) == 3)
    assert sorted(again) == [1, 2, 3]


async def test_latest_only_skips_the_snapshots_a_newer_one_overtook(kafka_bootstrap: str) -> None:
    settings = settings_for(kafka_bootstrap)
    await create(settings, "portfolio-snapshots")
    release, entered = asyncio.Event(), asyncio.Event()
    handled: list[tuple[str, int]] = []

    async def on_snapshot(s: ev.PortfolioSnapshot) -> None:
        if s.event_time == 1:
            entered.set()
            await release.wait()
        handled.append((s.account, s.event_time))

    async with Consuming(settings, {"portfolio-snapshots": on_snapshot}, concurrency=2,
                         latest_only=("portfolio-snapshots",)) as consumer:  # fmt: skip
        await publish(settings, snapshot("a", 1))
        await wait_for(entered.is_set)  # the first one is in the handler
        await publish(settings, *(snapshot("a", n) for n in (2, 3, 4)), snapshot("b", 5))
        await wait_for(lambda: ("b", 5) in handled)
        release.set()
        await wait_for(lambda: len(handled) == 3)
        await asyncio.sleep(0.3)
        assert handled == [("b", 5), ("a", 1), ("a", 4)]
        assert consumer.skipped == 2

    nothing: list[int] = []

    async def count(s: ev.PortfolioSnapshot) -> None:
        nothing.append(s.event_time)

    # the skipped ones count as done: a new member of the group gets nothing again
    async with Consuming(settings, {"portfolio-snapshots": count}):
        await asyncio.sleep(3.0)
    assert nothing == []


async def test_a_keys_next_handler_runs_while_the_events_before_it_go_out_in_order(
    kafka_bootstrap: str,
) -> None:
    """The first candle's handler returns 40 signals; the second candle (same key) is
    handled while they are still being acknowledged, yet its signal goes out after them."""
    settings = settings_for(kafka_bootstrap)
    await create(settings, "candles", "signals")
    base = sample_events()
    candle, sig = base["candles"], base["signals"]
    assert isinstance(candle, ev.Candle) and isinstance(sig, ev.Signal)
    topic = f"{settings.topic_prefix}signals"
    produced = MESSAGES_PRODUCED.labels(settings.service_name, topic)
    out_before_second: list[float] = []

    async def on_candle(c: ev.Candle) -> list[ev.Signal]:
        if c.open_time == candle.open_time:
            return [sig.model_copy(update={"event_id": uuid.uuid4(), "event_time": n})
                    for n in range(40)]  # fmt: skip
        out_before_second.append(produced._value.get())
        return [sig.model_copy(update={"event_id": uuid.uuid4(), "event_time": 40})]

    start = produced._value.get()
    second = candle.model_copy(
        update={"event_id": uuid.uuid4(), "open_time": candle.open_time + 60_000,
                "close_time": candle.close_time + 60_000, "event_time": candle.event_time + 60_000}
    )  # fmt: skip
    await publish(settings, candle, second)
    async with Consuming(settings, {"candles": on_candle}, concurrency=4):
        raw = await read_all(kafka_bootstrap, topic, 41)
    times = [ev.Signal.model_validate_json(v).event_time for v in raw]
    assert times == list(range(41))  # the key's events in order
    assert out_before_second and out_before_second[0] - start < 40  # it did not wait for all


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_a_handler_waiting_for_another_topics_message_does_not_starve_it(
    kafka_bootstrap: str, concurrency: int
) -> None:
    """Risk's gate waits in a ``signals`` handler for the account's fill, read by the same
    consumer: every slot taken by waiting signals (or, one by one, the batch of signals not
    finished) must not keep the fill from being handled."""
    settings = settings_for(kafka_bootstrap)
    await create(settings, "signals", "fills")
    booked: dict[str, asyncio.Event] = {}
    decided: list[str] = []

    async def on_signal(s: ev.Signal) -> None:
        await asyncio.wait_for(booked.setdefault(s.account, asyncio.Event()).wait(), 15)
        decided.append(s.account)

    async def on_fill(f: ev.Fill) -> None:
        booked.setdefault(f.account, asyncio.Event()).set()

    accounts = [f"a{i}" for i in range(concurrency)]
    await publish(settings, *[signal(a, "AUSDT", 1) for a in accounts])
    base = sample_events()["fills"]
    handlers = {"signals": on_signal, "fills": on_fill}
    ordering = {"signals": account_of_key}
    async with Consuming(settings, handlers, concurrency=concurrency, ordering=ordering):
        await wait_for(lambda: all(a in booked for a in accounts))  # the signals wait
        await publish(settings, *[
            base.model_copy(update={"event_id": uuid.uuid4(), "account": a}) for a in accounts
        ])  # fmt: skip
        await wait_for(lambda: sorted(decided) == accounts, timeout=10)
