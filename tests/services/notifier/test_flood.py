"""1,000 fills in a minute on one subscription: at most the configured rate of messages per
minute plus digests, and every fill is in exactly one of them."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from kwont_common.kafka import EventProducer
from kwont_devstack.mongo_users import MongoEndpoint
from tests.services.notifier.conftest import (
    Receiver,
    fill,
    make_settings,
    own_account,
    running,
    subscribe,
    until,
)

pytestmark = pytest.mark.integration
RATE = 10
FILLS = 1000


async def test_a_burst_is_rate_limited_into_digests_without_losing_one(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any, receiver: Receiver
) -> None:
    settings = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db, digest_interval_s=1.0)
    await own_account(db, "u1", "acct-f")
    sub = await subscribe(db, "u1", "acct-f", ["fill"], url=receiver.url, rate_per_minute=RATE)
    fills = [fill("acct-f", n) for n in range(FILLS)]
    async with running(settings):
        producer = EventProducer(settings)
        await producer.start()
        try:
            await asyncio.gather(*(producer.publish(f) for f in fills))
        finally:
            await producer.stop()
        settled = {"status": {"$in": ["sent", "digested"]}, "kind": "fill"}
        await until(lambda: _count(db, {"subscription_id": sub, **settled}, FILLS), 120)
        # the last digest is recorded after its items' status: wait for the receiver too
        await until(lambda: _digested(receiver) + _direct(receiver) >= FILLS, 30)

    bodies = receiver.bodies()
    direct = [b for b in bodies if b["kind"] != "digest"]
    digests = [b for b in bodies if b["kind"] == "digest"]
    arrivals = zip(receiver.requests, bodies, strict=True)
    per_minute = Counter(int(t // 60) for (_, _, t), b in arrivals if b["kind"] != "digest")
    assert max(per_minute.values()) <= RATE, per_minute
    assert digests, "a burst over the rate gives at least one digest"
    told = [b["event_id"] for b in direct] + [i["event_id"] for d in digests for i in d["items"]]
    assert len(told) == FILLS and set(told) == {str(f.event_id) for f in fills}
    assert all(d["count"] == len(d["items"]) for d in digests)
    assert len(digests) <= len(per_minute) * 60 / settings.digest_interval_s + 1


async def _count(db: Any, query: dict[str, Any], wanted: int) -> bool:
    return bool(await db.notification_deliveries.count_documents(query) >= wanted)


def _direct(receiver: Receiver) -> int:
    return sum(1 for b in receiver.bodies() if b["kind"] != "digest")


def _digested(receiver: Receiver) -> int:
    return sum(len(b["items"]) for b in receiver.bodies() if b["kind"] == "digest")
