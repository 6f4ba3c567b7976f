"""The kinds that come from elsewhere than a fill: a deployment's error (polled from
``deployments``) reaches the subscription scoped to that deployment and not one scoped to
another deployment of the account; a finished backtest reaches its owner's subscriptions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from kwont_common.events import BacktestResult
from kwont_common.kafka import EventProducer
from kwont_devstack.mongo_users import MongoEndpoint
from tests.services.notifier.conftest import (
    T0,
    Receiver,
    make_settings,
    own_account,
    running,
    subscribe,
    until,
)

pytestmark = pytest.mark.integration


async def test_deployment_errors_and_finished_backtests(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any, receiver: Receiver
) -> None:
    settings = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db)
    await own_account(db, "u1", "acct-s")  # deployment dep-acct-s
    await db.deployments.insert_one({"_id": "dep-other", "account": "acct-s", "owner": "u1"})
    mine = await subscribe(
        db, "u1", "acct-s", ["deployment_error", "backtest_finished"], url=receiver.url,
        deployment_id="dep-acct-s",
    )  # fmt: skip
    await subscribe(db, "u1", "acct-s", ["deployment_error"], url=receiver.url,
                    deployment_id="dep-other")  # fmt: skip
    await db.backtests.insert_one({"_id": "bt_1", "owner": "u1", "status": "succeeded"})
    await db.backtests.insert_one({"_id": "bt_2", "owner": "u2", "status": "succeeded"})
    results = [
        BacktestResult(
            event_time=T0,
            source="test",
            job_id=job,
            status="succeeded",
            trade_count=12,
            final_equity="10100.5",
        )
        for job in ("bt_1", "bt_2")
    ]
    async with running(settings):
        await until(lambda: db.notifier_cursors.find_one({"_id": "deployment_errors"}))
        await db.deployments.update_one(
            {"_id": "dep-acct-s"},
            {"$set": {"last_error": "strategy could not be loaded: boom",
                      "last_error_at": time.time_ns() // 1_000_000 + 1}},
        )  # fmt: skip
        producer = EventProducer(settings)
        await producer.start()
        try:
            for result in results:
                await producer.publish(result)
        finally:
            await producer.stop()
        await until(lambda: len(receiver.requests) >= 2)
        await until(lambda: _sent(db, 2))
        await asyncio.sleep(1)  # time for a delivery too many
    bodies = sorted(receiver.bodies(), key=lambda b: b["kind"])
    assert [(b["kind"], b["subscription_id"]) for b in bodies] == [
        ("backtest_finished", mine), ("deployment_error", mine)
    ]  # fmt: skip
    assert "bt_1 succeeded: 12 trades, final equity 10100.5" in bodies[0]["text"]
    assert "dep-acct-s" in bodies[1]["text"] and "boom" in bodies[1]["text"]
    assert len(receiver.requests) == 2


async def _sent(db: Any, wanted: int) -> bool:
    return bool(await db.notification_deliveries.count_documents({"status": "sent"}) >= wanted)
