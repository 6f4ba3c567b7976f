"""The publish cost of co-partitioning: an account topic's record to its account's partition
(``EventProducer.publish``: the partition count from the producer's metadata, then
``account_partition``) against the same record left to the default partitioner (the whole
key, ``send_raw`` without a partition).

Rows: the rule itself (``account_partition``, a pure function), the producer's lookup
(``EventProducer.partition_of``: cached metadata, then the rule), then ``BENCH_PUBLISHES``
(default 2,000) fills published and acknowledged one after another, each way, interleaved
over three rounds, on a tansu it starts (6 partitions). Prints microseconds per publish.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
import timeit
import uuid
from pathlib import Path

from kwont_common import events as ev
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.kafka.codec import encode
from kwont_common.kafka.partitioning import account_partition
from kwont_common.settings import Settings
from kwont_common.testing import sample_events
from kwont_devstack.process import free_port
from kwont_devstack.tansu import start_tansu

HOST = "127.0.0.1"
N = int(os.environ.get("BENCH_PUBLISHES", "2000"))
ROUNDS = 3
PARTITIONS = 6
N_PURE = 200_000


def fills() -> list[ev.Event]:
    """N sample fills spread over 50 accounts."""
    base = sample_events()["fills"]
    return [
        base.model_copy(update={"event_id": uuid.uuid4(), "account": f"acct-{i % 50}"})
        for i in range(N)
    ]


async def timed(producer: EventProducer, events: list[ev.Event], by_account: bool) -> float:
    """Seconds to publish ``events`` one after another, acknowledged each."""
    topic = f"{producer.settings.topic_prefix}fills"
    started = time.perf_counter()
    for event in events:
        if by_account:
            await producer.publish(event)
        else:
            key, value = encode(event)
            await producer.send_raw(topic, key, value)
    return time.perf_counter() - started


async def kafka_rows(bootstrap: str) -> dict[str, list[float]]:
    """Seconds per run of publishing the fills both ways, interleaved over the runs."""
    settings = Settings(service_name="bench", kafka_bootstrap_servers=bootstrap,
                        kafka_idempotence=False, topic_prefix="bench.",
                        topic_partitions=PARTITIONS)  # fmt: skip
    await ensure_topics(settings, ["bench.fills"])
    producer = EventProducer(settings)
    await producer.start()
    runs: dict[str, list[float]] = {"default partitioner (whole key)": [], "by account": []}
    try:
        events = fills()
        await timed(producer, events[:200], by_account=True)  # warm up: metadata, connection
        key = encode(events[0])[0]
        started = time.perf_counter()
        for _ in range(N_PURE // 10):
            await producer.partition_of("bench.fills", key)
        runs["partition_of (metadata + rule)"] = [(time.perf_counter() - started) / (N_PURE // 10)]
        for _ in range(ROUNDS):
            for name, by_account in (("default partitioner (whole key)", False),
                                     ("by account", True)):  # fmt: skip
                runs[name].append(await timed(producer, events, by_account))
    finally:
        await producer.stop()
    return runs


def main() -> None:
    """Print the cost of account_partition alone, then of publishing by account against the
    default partitioner on tansu."""
    print(f"partitioning: publish cost of the account rule ({PARTITIONS} partitions)")
    pure = timeit.timeit(lambda: account_partition("acct-42", PARTITIONS), number=N_PURE)
    print(f"  {'account_partition (pure)':<34} {pure / N_PURE * 1e6:>8.2f} us per call")
    work = Path(tempfile.mkdtemp(prefix="kwont-bench-part-"))
    port = free_port(HOST)
    tansu = start_tansu(HOST, port, work / "tansu.log")
    try:
        runs = asyncio.run(kafka_rows(f"{HOST}:{port}"))
    finally:
        tansu.stop()
        shutil.rmtree(work, ignore_errors=True)
    lookup = runs.pop("partition_of (metadata + rule)")[0]
    print(f"  {'partition_of (metadata + rule)':<34} {lookup * 1e6:>8.2f} us per call")
    for name, seconds in runs.items():
        per = [s / N * 1e6 for s in seconds]
        rounds = " ".join(f"{p:.0f}" for p in per)
        print(f"  {name:<34} {statistics.median(per):>8.0f} us per publish (rounds: {rounds})")


if __name__ == "__main__":
    main()
