"""How long a consumer waits for its first record on tansu: a new group joining by
``subscribe`` (what every service does), against ``assign`` (no group, the baseline), with
aiokafka's defaults and with Kwont's consumer settings. Three interleaved runs each.

Run alone: ``python -m bench rejoin``.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kwont_devstack.process import free_port
from kwont_devstack.tansu import start_tansu

HOST = "127.0.0.1"
KWONT = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 2000}


async def first_record(
    kafka: str, topic: str, how: str, group: str | None = None, **settings: Any
) -> float:
    """Seconds from start to the first record of ``topic``."""
    group = group or (f"bench-{uuid.uuid4().hex[:8]}" if how != "assign" else None)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                **settings)  # fmt: skip
    started = time.perf_counter()
    if how == "assign":
        consumer.assign([TopicPartition(topic, 0)])
    else:
        consumer.subscribe([topic])
    await consumer.start()
    try:
        while not await consumer.getmany(timeout_ms=100):
            pass
        return time.perf_counter() - started
    finally:
        await consumer.stop()


MEMBER = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer
async def main():
    c = AIOKafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3],
                         session_timeout_ms=int(sys.argv[4]),
                         heartbeat_interval_ms=int(sys.argv[4]) // 3)
    await c.start()
    while not c.assignment():
        await c.getmany(timeout_ms=100)
    print("joined", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


async def after_kill(kafka: str, topic: str, session_ms: int) -> float:
    """A group member (its own process) is killed with SIGKILL; seconds until its
    replacement in the same group gets its first record."""
    group = f"bench-{uuid.uuid4().hex[:8]}"
    member = await asyncio.create_subprocess_exec(
        sys.executable, "-c", MEMBER, kafka, topic, group, str(session_ms),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert member.stdout is not None
    await asyncio.wait_for(member.stdout.readline(), 60)
    member.send_signal(signal.SIGKILL)
    await member.wait()
    settings = {"session_timeout_ms": session_ms, "heartbeat_interval_ms": session_ms // 3}
    return await first_record(kafka, topic, "subscribe", group=group, **settings)


async def measure(kafka: str) -> dict[str, list[float]]:
    """The cases, three interleaved runs of each: seconds to the first record."""
    topic = f"bench-rejoin-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    await producer.send_and_wait(topic, b"x")
    await producer.stop()
    cases = {
        "assign (baseline)": {"how": "assign"},
        "subscribe, aiokafka defaults": {"how": "subscribe"},
        "subscribe, kwont settings": {"how": "subscribe", **KWONT},
    }
    out: dict[str, list[float]] = {name: [] for name in cases}
    killed = {
        "after a kill -9, session timeout 6 s (kwont)": 6000,
        "after a kill -9, session timeout 3 s": 3000,
    }
    out |= {name: [] for name in killed}
    for _ in range(3):  # interleaved
        for name, kw in cases.items():
            out[name].append(await first_record(kafka, topic, **kw))
        for name, session_ms in killed.items():
            out[name].append(await after_kill(kafka, topic, session_ms))
    return out


def main() -> None:
    """Print the table (figures are wall clock on this machine, under its load)."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port(HOST)
        broker = start_tansu(HOST, port, Path(tmp) / "tansu.log")
        try:
            out = asyncio.run(measure(f"{HOST}:{port}"))
        finally:
            broker.stop()
    print(f"{'first record of a new consumer on tansu':<40} {'median':>8}  runs")
    for name, runs in out.items():
        shown = " ".join(f"{r:.2f}" for r in runs)
        print(f"{name:<40} {statistics.median(runs):>7.2f}s  {shown}")


if __name__ == "__main__":
    main()
