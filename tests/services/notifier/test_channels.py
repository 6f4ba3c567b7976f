"""A fill gives one signed webhook delivery; a receiver failing twice gives three attempts
and one success; one failing always gives a dead-letter record and the service carries on.
A kill-switch trip sends one Telegram message, through python-telegram-bot, with the account
and the reason."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kwont_common.kafka import EventProducer
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_notifier.signing import HEADER, verify
from tests.services.notifier.conftest import (
    SECRET,
    BotApi,
    Receiver,
    fill,
    make_settings,
    own_account,
    rejection,
    running,
    subscribe,
    until,
)

pytestmark = pytest.mark.integration


def status_of(db: Any, record_id: str, *wanted: str) -> Any:
    async def check() -> Any:
        doc = await db.notification_deliveries.find_one({"_id": record_id})
        return doc if doc is not None and doc["status"] in wanted else None

    return check


async def test_webhook_signed_retried_and_dead_lettered(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any, receiver: Receiver
) -> None:
    settings = make_settings(kafka_bootstrap, mongo.app_uri, mongo_db)
    await own_account(db, "u1", "acct-w")
    sub = await subscribe(db, "u1", "acct-w", ["fill"], url=receiver.url)
    await subscribe(db, "u2", None, ["fill"], url=receiver.url)  # another user's: never hears
    first, second, third, fourth = (fill("acct-w", n) for n in range(4))
    async with running(settings):
        producer = EventProducer(settings)
        await producer.start()
        try:
            await producer.publish(first)
            done = await until(status_of(db, f"{sub}:{first.event_id}", "sent"))
            assert len(receiver.requests) == 1
            headers, raw, _ = receiver.requests[0]
            assert verify(SECRET, raw, headers[HEADER], int(time.time()))
            assert not verify("another secret", raw, headers[HEADER], int(time.time()))
            body = receiver.bodies()[0]
            assert (body["event_id"], body["kind"], body["account"]) == (
                str(first.event_id),
                "fill",
                "acct-w",
            )
            assert body["data"]["trade_id"] == "t-0" and headers["X-Kwont-Delivery"] == done["_id"]

            receiver.fail_first = receiver.seen + 2
            await producer.publish(second)
            done = await until(status_of(db, f"{sub}:{second.event_id}", "sent"))
            assert [a["ok"] for a in done["attempts"]] == [False, False, True]
            assert done["attempts"][0]["error"] == "HTTP 500"

            receiver.fail_always = True
            await producer.publish(third)
            dead = await until(status_of(db, f"{sub}:{third.event_id}", "dead_letter"))
            assert len(dead["attempts"]) == settings.webhook_max_attempts
            letter = await db.notification_dead_letters.find_one({"_id": dead["_id"]})
            assert letter["body"]["event_id"] == str(third.event_id)
            assert letter["attempts"] == 3 and letter["error"] == "HTTP 500"

            receiver.fail_always = False
            await producer.publish(fourth)
            await until(status_of(db, f"{sub}:{fourth.event_id}", "sent"))
        finally:
            await producer.stop()
    # 1 + 3 + 3 + 1 requests, every one for the owner's subscription
    assert len(receiver.requests) == 8
    assert {b["subscription_id"] for b in receiver.bodies()} == {sub}


async def test_kill_switch_trip_sends_one_telegram_message(
    kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str, db: Any, bot_api: BotApi
) -> None:
    settings = make_settings(
        kafka_bootstrap, mongo.app_uri, mongo_db,
        telegram_bot_token="123:abc", telegram_api_url=bot_api.url,
    )  # fmt: skip
    await own_account(db, "u1", "acct-t")
    sub = await subscribe(db, "u1", "acct-t", ["kill_switch"], channel="telegram", chat_id=4242)
    plain = rejection("acct-t", "cooldown", "last entry 3 s ago; cooldown is 60 s")
    trip = rejection("acct-t", "max_drawdown", "drawdown 21.0% is over the 20% limit")
    async with running(settings):
        producer = EventProducer(settings)
        await producer.start()
        try:
            await producer.publish(plain)
            await producer.publish(trip)
            await until(status_of(db, f"{sub}:{trip.event_id}", "sent"))
        finally:
            await producer.stop()
    assert len(bot_api.messages) == 1, bot_api.messages
    (message,) = bot_api.messages
    assert message["chat_id"] == 4242
    assert "acct-t" in message["text"] and "kill switch" in message["text"]
    assert "drawdown 21.0% is over the 20% limit" in message["text"]
    assert bot_api.calls == ["getMe", "sendMessage"]
    assert await db.notification_deliveries.count_documents({"subscription_id": sub}) == 1
