"""Topic creation: every registered topic and its ``.dlq``, with configurable partitions.

Console script: ``kwont-topics create`` (idempotent; reads ``KWONT_*`` settings),
``kwont-topics list``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kwont_common.retry import retry_until
from kwont_common.settings import Settings
from kwont_common.topics import all_topic_names


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
