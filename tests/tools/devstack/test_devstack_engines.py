"""The devstack fixtures hand out real, working engines: tansu, SecantusDB, Redis."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo.errors import OperationFailure
from redis.asyncio import Redis

from kwont_devstack.mongo_users import client, mongo_uri
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_devstack.tansu import kafka_brokers

pytestmark = pytest.mark.integration

UNAUTHORIZED = 13


def test_tansu_advertises_the_address_it_listens_on(kafka_bootstrap: str) -> None:
    host, port = kafka_bootstrap.split(":")
    assert [(h, p) for _, h, p in kafka_brokers(host, int(port))] == [(host, int(port))]


async def test_tansu_produce_consume_round_trip(kafka_bootstrap: str, unique_name: str) -> None:
    topic = f"{unique_name}.candles"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    # tansu has no InitProducerId: idempotence must stay off (docs/contract.md, embedded engines).
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"m{i}".encode(), key=b"BTCUSDT:1m")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=None,  # a plain assignment: group joins cost seconds and are not the point
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        got = [(await asyncio.wait_for(consumer.getone(), 10)).value for _ in range(5)]
    finally:
        await consumer.stop()
    # One key, so one partition, so order is kept.
    assert got == [f"m{i}".encode() for i in range(5)]


async def test_redis_answers(redis_url: str, unique_name: str) -> None:
    assert re.fullmatch(r"redis://127\.0\.0\.1:\d+/0", redis_url)
    cache = Redis.from_url(redis_url)
    try:
        await cache.set(unique_name, b"42", ex=60)
        assert await cache.get(unique_name) == b"42"
    finally:
        await cache.aclose()


def test_app_user_writes_kwont_and_ohlcv(mongo: MongoEndpoint, unique_name: str) -> None:
    with client(mongo.app_uri) as app:
        app.kwont[unique_name].insert_one({"user": "ada"})
        app.ohlcv[unique_name].insert_one({"symbol": "BTCUSDT"})
        assert app.kwont[unique_name].count_documents({}) == 1
        with pytest.raises(OperationFailure) as refused:
            app.other[unique_name].insert_one({"x": 1})
        assert refused.value.code == UNAUTHORIZED


def test_readonly_user_reads_ohlcv_only(mongo: MongoEndpoint, unique_name: str) -> None:
    with client(mongo.app_uri) as app:
        app.ohlcv[unique_name].insert_one({"symbol": "BTCUSDT"})
        app.kwont.users.insert_one({"name": unique_name})
    with client(mongo.readonly_uri) as ro:
        candles = ro.ohlcv[unique_name]
        assert candles.find_one({}, {"_id": 0}) == {"symbol": "BTCUSDT"}
        refused: list[Callable[[], object]] = [
            lambda: candles.insert_one({"symbol": "ETHUSDT"}),
            lambda: candles.update_one({}, {"$set": {"symbol": "X"}}),
            lambda: candles.delete_many({}),
            lambda: candles.drop(),
            lambda: ro.drop_database("ohlcv"),
            lambda: ro.kwont.users.find_one(),
            lambda: ro.kwont.list_collection_names(),
        ]
        for attempt in refused:
            with pytest.raises(OperationFailure) as err:
                attempt()
            assert err.value.code == UNAUTHORIZED
        assert candles.count_documents({}) == 1


def test_wrong_password_and_anonymous_are_refused(mongo: MongoEndpoint) -> None:
    wrong = mongo.app_uri.replace(mongo.credentials.app_password, "not-the-password")
    with (
        client(wrong) as wrong_client,
        pytest.raises(OperationFailure),
    ):
        wrong_client.kwont.users.find_one()
    with (
        client(mongo_uri(mongo.host, mongo.port)) as anonymous,
        pytest.raises(OperationFailure) as err,
    ):
        anonymous.kwont.users.find_one()
    assert err.value.code == UNAUTHORIZED


def test_mongo_db_fixture_gives_app_and_readonly_access(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    with client(mongo.app_uri) as app, client(mongo.readonly_uri) as ro:
        app[mongo_db].results.insert_one({"job": 1})
        assert ro[mongo_db].results.count_documents({}) == 1
        with pytest.raises(OperationFailure):
            ro[mongo_db].results.insert_one({"job": 2})


def test_unique_name_is_safe_everywhere(unique_name: str) -> None:
    assert re.fullmatch(r"[a-z0-9_]{1,40}", unique_name)
