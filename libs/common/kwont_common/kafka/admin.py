"""Topic creation: every registered topic and its ``.dlq``, with configurable partitions;
the start-up check that the co-partitioned topics share one partition count.

Console script: ``kwont-topics create`` (idempotent; reads ``KWONT_*`` settings),
``kwont-topics list``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kwont_common.errors import ConfigurationError
from kwont_common.kafka.partitioning import count_mismatch
from kwont_common.retry import retry_until
from kwont_common.settings import Settings
from kwont_common.topics import TOPICS, all_topic_names, copartitioned_names

log = logging.getLogger(__name__)


async def _admin(settings: Settings) -> AIOKafkaAdminClient:
    async def start() -> AIOKafkaAdminClient:
        client = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        try:
            await client.start()
        except BaseException:
            await client.close()
            raise
        return client

    return await retry_until(start, "kafka admin", settings.startup_timeout_s)


async def ensure_topics(settings: Settings, names: list[str] | None = None) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    Raises:
        TransientError: the broker was not reachable within ``startup_timeout_s``.
        aiokafka.errors.KafkaError: the broker refused to create a topic.
    """
    wanted = names if names is not None else all_topic_names(settings.topic_prefix)
    client = await _admin(settings)
    try:
        existing = set(await client.list_topics())
        missing = [n for n in wanted if n not in existing]
        if missing:
            await client.create_topics(
                [
                    NewTopic(n, settings.topic_partitions, settings.topic_replication_factor)
                    for n in missing
                ]
            )
        return missing
    finally:
        await client.close()


async def list_topics(settings: Settings) -> list[str]:
    """Names of the topics on the broker."""
    client = await _admin(settings)
    try:
        return sorted(await client.list_topics())
    finally:
        await client.close()


async def partition_counts(settings: Settings, names: list[str]) -> dict[str, int]:
    """Partition count of each of ``names`` on the broker; a topic not there is left out.

    Raises:
        TransientError: the broker was not reachable within ``startup_timeout_s``.
    """
    client = await _admin(settings)
    try:
        on_broker = set(await client.list_topics())
        existing = [n for n in names if n in on_broker]
        described = await client.describe_topics(existing) if existing else []
        return {d["topic"]: len(d["partitions"]) for d in described if d["topic"] in existing}
    finally:
        await client.close()


async def check_copartitioned(settings: Settings, consumed: Iterable[str]) -> None:
    """At start of a service consuming ``consumed`` (base names): when it reads any
    co-partitioned topic, every co-partitioned topic on the broker must have one count.

    Raises:
        ConfigurationError: the counts differ (the message names the topics, their counts
            and the fix).
        TransientError: the broker was not reachable within ``startup_timeout_s``.
    """
    if not any(TOPICS[n].copartitioned for n in consumed if n in TOPICS):
        return
    wanted = copartitioned_names(settings.topic_prefix)
    counts = await partition_counts(settings, wanted)
    problem = count_mismatch(counts)
    if problem is not None:
        raise ConfigurationError(problem)
    missing = [n for n in wanted if n not in counts]
    if missing:  # created later, by `kwont-topics create` or auto-creation: not checked here
        log.warning("co-partitioned topics not on the broker yet: %s", ", ".join(missing))


def main(argv: list[str] | None = None) -> int:
    """Console script ``kwont-topics``."""
    parser = argparse.ArgumentParser(prog="kwont-topics", description="Create or list topics.")
    parser.add_argument("command", choices=["create", "list"])
    parser.add_argument("--partitions", type=int, help="override KWONT_TOPIC_PARTITIONS")
    args = parser.parse_args(argv)
    settings = Settings(service_name="topics")
    if args.partitions:
        settings = settings.model_copy(update={"topic_partitions": args.partitions})
    if args.command == "list":
        print("\n".join(asyncio.run(list_topics(settings))))
        return 0
    created = asyncio.run(ensure_topics(settings))
    total = len(all_topic_names(settings.topic_prefix))
    print(f"topics: {len(created)} created, {total - len(created)} already there", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
