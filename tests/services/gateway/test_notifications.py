"""Notification subscriptions over REST and GraphQL: owned per user, validated with a
readable message; a test send and a fill reach a local webhook receiver through the real
notifier, signed with the secret the API gave once, and show in the delivery history."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_common.kafka import EventProducer
from kwont_common.notification_kinds import KINDS
from kwont_gateway.models.notifications import NotificationKind
from kwont_notifier.signing import HEADER, verify
from tests.services.gateway.factories import Server, new_user
from tests.services.gateway.test_graphql import gql_post
from tests.services.notifier.conftest import Receiver, fill, make_settings, running, until
from tests.services.notifier.conftest import receiver as receiver

pytestmark = pytest.mark.integration
API = "/api/v1/notifications/subscriptions"


def test_the_api_offers_exactly_the_kinds_the_notifier_tells() -> None:
    assert set(NotificationKind.__args__) == set(KINDS)  # type: ignore[attr-defined]


async def test_subscribe_test_send_and_history(gateway: Server, receiver: Receiver) -> None:
    gs = gateway.settings
    owner_id, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    account = f"acct-{owner_id[-6:]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(gs.mongo_uri)
    db = client[gs.mongo_database]
    await db.deployments.insert_one(
        {"_id": f"dep-{account}", "account": account, "owner": owner_id}
    )
    body = {"kinds": ["fill", "kill_switch"], "account": account, "url": receiver.url}
    try:
        async with gateway.client(owner) as c:
            bad = await c.post(API, json={"kinds": ["fill"], "account": account})
            assert bad.status_code == 422 and "needs `url`" in bad.text, bad.text
            unknown = await c.post(API, json={**body, "kinds": ["moon"]})
            assert unknown.status_code == 422 and "kinds" in unknown.text
            r = await c.post(API, json=body)
            assert r.status_code == 201, r.text
            created = r.json()
            sub, secret = created["id"], created["secret"]
            assert secret and created["account"] == account and created["enabled"]
            listed = (await c.get(API)).json()
            assert [s["id"] for s in listed] == [sub] and "secret" not in listed[0]
            test = await c.post(f"{API}/{sub}/test")
            assert test.status_code == 202 and test.json()["status"] == "test_queued"
        async with gateway.client(other) as c:
            foreign = await c.post(API, json=body)
            assert foreign.status_code == 404 and account in foreign.text
            assert (await c.get(f"{API}/{sub}")).status_code == 404
            assert (await c.get(f"{API}/{sub}/deliveries")).status_code == 404
            assert (await c.post(f"{API}/{sub}/test")).status_code == 404
            assert (await c.delete(f"{API}/{sub}")).status_code == 404

        settings = make_settings(gs.kafka_bootstrap_servers, gs.mongo_uri, gs.mongo_database)
        event = fill(account, 1)
        async with running(settings):
            await until(lambda: len(receiver.requests) >= 1)
            producer = EventProducer(settings)
            await producer.start()
            try:
                await producer.publish(event)
            finally:
                await producer.stop()
            await until(lambda: len(receiver.requests) >= 2)
        for headers, raw, _ in receiver.requests:
            assert verify(secret, raw, headers[HEADER], int(time.time()))
        assert [b["kind"] for b in receiver.bodies()] == ["test", "fill"]
        async with gateway.client(owner) as c:
            history = (await c.get(f"{API}/{sub}/deliveries")).json()
            assert [(h["kind"], h["status"]) for h in history] == [
                ("fill", "sent"),
                ("test", "sent"),
            ]
            assert all(len(h["attempts"]) == 1 and h["attempts"][0]["ok"] for h in history)
            assert {h["event_id"] for h in history} >= {str(event.event_id)}
            assert (await c.delete(f"{API}/{sub}")).status_code == 204
            assert (await c.get(f"{API}/{sub}")).status_code == 404
    finally:
        await client.close()


async def test_graphql_manages_subscriptions_like_rest(gateway: Server) -> None:
    gs = gateway.settings
    owner_id, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(gs.mongo_uri)
    dep = f"dep-g{owner_id[-6:]}"
    await client[gs.mongo_database].deployments.insert_one(
        {"_id": dep, "account": f"acct-g{owner_id[-6:]}", "owner": owner_id}
    )
    await client.close()
    create = """mutation($input: NotificationSubscriptionInput!) {
      createNotificationSubscription(input: $input) { id account deploymentId chatId secret } }"""
    telegram = {"kinds": ["deployment_error"], "channel": "telegram", "deploymentId": dep,
                "chatId": 5_000_000_000}  # fmt: skip
    made = await gql_post(gateway, owner, create, input=telegram)
    sub = made["data"]["createNotificationSubscription"]
    assert sub["account"] == f"acct-g{owner_id[-6:]}" and sub["chatId"] == 5_000_000_000
    assert sub["secret"] is None  # only webhooks sign
    missing = await gql_post(gateway, owner, create, input={**telegram, "chatId": None})
    assert missing["errors"][0]["extensions"]["code"] == "invalid_request"
    assert "chat_id" in missing["errors"][0]["message"]
    foreign = await gql_post(gateway, other, create, input=telegram)
    assert foreign["errors"][0]["extensions"]["status"] == 404
    listed = await gql_post(gateway, owner, "{ notificationSubscriptions { id kinds channel } }")
    assert listed["data"]["notificationSubscriptions"] == [
        {"id": sub["id"], "kinds": ["deployment_error"], "channel": "telegram"}
    ]
    tested = await gql_post(
        gateway, owner, "mutation($id: ID!) { testNotificationSubscription(id: $id) { status } }",
        id=sub["id"],
    )  # fmt: skip
    assert tested["data"]["testNotificationSubscription"]["status"] == "test_queued"
    history = await gql_post(
        gateway, other, "query($id: ID!) { notificationDeliveries(subscriptionId: $id) { id } }",
        id=sub["id"],
    )  # fmt: skip
    assert history["errors"][0]["extensions"]["status"] == 404
    gone = await gql_post(
        gateway, owner, "mutation($id: ID!) { deleteNotificationSubscription(id: $id) }",
        id=sub["id"],
    )  # fmt: skip
    assert gone["data"]["deleteNotificationSubscription"] is True
