"""Per-user Binance key pairs end to end: attached through the gateway (REST and GraphQL),
checked against the local Binance stand-in, stored encrypted, used by execution only for
their own account's orders; then the clear key and secret are looked for everywhere.

A gateway of its own (its settings carry the encryption key and the stand-in's URL) on a
platform database the sandbox's read-only user is not granted, as in production, where it
reads the market-data database only."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import bson
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.fernet import Fernet
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from kwont_common.events import Event, Order, OrderUpdate
from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.mongo import Mongo
from kwont_common.service import serve
from kwont_common.trading import credentials, ids
from kwont_devstack.mongo_users import APP_USER, MongoEndpoint, client
from kwont_execution.account_cache import AccountCache
from kwont_execution.binance_accounts import BinanceAccounts
from kwont_execution.binance_client import BinanceVenueSettings
from kwont_gateway.main import setup
from kwont_gateway.settings import GatewaySettings
from kwont_gateway.users import ensure_admin
from tests.services.execution.binance_futures_server import BinanceFutures
from tests.services.gateway.conftest import _free_port
from tests.services.gateway.factories import Server, login, new_user
from tests.services.marketdata.vendors import serve as serve_app

pytestmark = pytest.mark.integration

SYMBOL = "BTCUSDT"
A_KEY, A_SECRET = f"akey{uuid.uuid4().hex}", f"asecret{uuid.uuid4().hex}"
B_KEY, B_SECRET = f"bkey{uuid.uuid4().hex}", f"bsecret{uuid.uuid4().hex}"
CLEAR = (A_KEY, A_SECRET, B_KEY, B_SECRET)


class Stack:
    def __init__(self, server: Server, exchange: BinanceFutures, url: str, db: Any) -> None:
        self.server, self.exchange, self.url, self.db = server, exchange, url, db
        self.answers: list[str] = []

    async def call(self, method: str, path: str, headers: dict[str, str], **kw: Any
                   ) -> httpx.Response:  # fmt: skip
        async with self.server.client(headers) as c:
            r = await c.request(method, path, **kw)
        self.answers.append(r.text)
        return r


@pytest.fixture(scope="module")
async def stack(gateway_settings: GatewaySettings, mongo: MongoEndpoint,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:  # fmt: skip
    name = f"cred_kwont_{uuid.uuid4().hex[:8]}"
    with client(mongo.admin_uri) as admin:  # the app user only: no read for the sandbox's
        admin.admin.command("grantRolesToUser", APP_USER, roles=[{"role": "readWrite", "db": name}])
    exchange = BinanceFutures(api_key="operator-key", api_secret="operator-secret",
                              price={SYMBOL: Decimal("42000.3")})  # fmt: skip
    keys_file = tmp_path_factory.mktemp("secrets") / "credentials-keys"  # a mounted secret
    keys_file.write_text(f"# newest first\n{Fernet.generate_key().decode()}\n")
    async with serve_app(exchange.app()) as url:
        s = gateway_settings.model_copy(update={
            "http_port": _free_port(), "mongo_database": name,
            "topic_prefix": f"cr{uuid.uuid4().hex[:8]}.",
            "credentials_keys": None, "credentials_keys_file": keys_file,
            "binance_futures_url": f"{url}/fapi",
        })  # fmt: skip
        await ensure_topics(s)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(s, setup, stop))
        server = Server(f"http://127.0.0.1:{s.http_port}", s, admin_password="admin-password-123")
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            for _ in range(300):
                assert not task.done()
                try:
                    if (await c.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        m = Mongo.connect(s)
        await ensure_admin(m.write, server.admin_password, s.run_dir)
        tokens = await login(server, "admin", server.admin_password)
        server.admin_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        try:
            yield Stack(server, exchange, url, m.write)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
            await m.close()
            with client(mongo.admin_uri) as admin:
                admin.drop_database(name)


def order(account: str, n: int) -> Order:
    signal = ids.signal_id(f"dep-{account}", SYMBOL, "1m", 1_700_000_000_000 + n * 60_000)
    return Order.model_validate({
        "event_time": 1_700_000_000_000, "source": "risk", "account": account,
        "symbol": SYMBOL, "correlation_id": signal, "signal_id": signal,
        "client_order_id": ids.client_order_id(signal, "e"), "venue": "binance",
        "side": "BUY", "quantity": Decimal("0.010"), "leverage": 2,
    })  # fmt: skip


async def everything_stored(mongo: MongoEndpoint) -> bytes:
    """Every document of every collection of every database, as BSON."""
    out = bytearray()
    store: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.admin_uri)
    try:
        for db_name in await store.list_database_names():
            for coll in await store[db_name].list_collection_names():
                async for doc in store[db_name][coll].find({}):
                    out += bson.encode(doc)
    finally:
        await store.close()
    return bytes(out)


async def every_message(s: GatewaySettings) -> bytes:
    """Every record of every topic of the stack's prefix, from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka_bootstrap_servers)
    await consumer.start()
    out = bytearray()
    try:
        topics = [t for t in await consumer.topics() if t.startswith(s.topic_prefix)]
        assert topics
        parts = [TopicPartition(t, p) for t in topics
                 for p in consumer.partitions_for_topic(t) or ()]  # fmt: skip
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)

        async def behind() -> bool:
            return any([await consumer.position(p) < ends[p] for p in parts])

        while await behind():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    out += (r.key or b"") + (r.value or b"")
    finally:
        await consumer.stop()
    return bytes(out)


async def test_key_pairs_stay_secret_and_carry_only_their_own_account(
    stack: Stack, mongo: MongoEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    srv, exchange, db = stack.server, stack.exchange, stack.db
    exchange.other_keys.update({A_KEY: A_SECRET, B_KEY: B_SECRET})
    alice, alice_h = await new_user(srv)
    bob, bob_h = await new_user(srv)
    await db.deployments.insert_many([
        {"_id": "dep-acct-a", "account": "acct-a", "owner": alice, "venue": "binance"},
        {"_id": "dep-acct-b", "account": "acct-b", "owner": bob, "venue": "binance"},
        {"_id": "dep-acct-c", "account": "acct-c", "owner": bob, "venue": "binance"},
    ])  # fmt: skip
    path = "/api/v1/accounts/{}/credentials"

    # a wrong secret: Binance refuses the signed read, the answer says so
    r = await stack.call("PUT", path.format("acct-a"), alice_h,
                         json={"api_key": A_KEY, "api_secret": "wrong-secret-x"})  # fmt: skip
    assert r.status_code == 400 and "Binance refused this API key pair" in r.text, r.text
    assert "-1022" in r.text
    # not her account / not a known account
    r = await stack.call("PUT", path.format("acct-b"), alice_h,
                         json={"api_key": A_KEY, "api_secret": A_SECRET})  # fmt: skip
    assert r.status_code == 404
    r = await stack.call("PUT", path.format("acct-a"), alice_h,
                         json={"api_key": A_KEY, "api_secret": A_SECRET})  # fmt: skip
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["key_last4"] == A_KEY[-4:] and shown["status"] == "active"
    assert shown["fingerprint"] == credentials.fingerprint(A_KEY)
    assert (await stack.call("GET", path.format("acct-a"), alice_h)).json() == shown
    assert (await stack.call("GET", path.format("acct-a"), bob_h)).status_code == 404
    # bob attaches his through GraphQL
    query = (
        "mutation($k: String!, $s: String!) { attachExchangeCredentials(account: "
        '"acct-b", apiKey: $k, apiSecret: $s) { fingerprint keyLast4 status } }'
    )
    r = await stack.call(
        "POST", "/graphql", bob_h, json={"query": query, "variables": {"k": B_KEY, "s": B_SECRET}}
    )
    assert r.json()["data"]["attachExchangeCredentials"]["keyLast4"] == B_KEY[-4:], r.text
    r = await stack.call("POST", "/graphql", alice_h, json={
        "query": '{ exchangeCredentials(account: "acct-b") { fingerprint } }'})  # fmt: skip
    assert r.json()["errors"][0]["extensions"]["code"] == "not_found", r.text

    # execution: each account's orders signed with its own key, the others refused
    published: list[Event] = []
    producer = EventProducer(srv.settings)
    await producer.start()

    async def publish(events: list[Event]) -> None:
        published.extend(events)
        for e in events:
            await producer.publish(e)

    venue_settings = BinanceVenueSettings(
        api_key="operator-key", api_secret="operator-secret",
        futures_url=f"{stack.url}/fapi", fill_timeout_s=3.0,
    )  # fmt: skip
    keys_file = srv.settings.credentials_keys_file
    assert keys_file is not None
    keyring = credentials.Keyring.of(None, keys_file)
    router = BinanceAccounts(venue_settings, db, publish, AccountCache(db, 0.0), keyring)

    def statuses(account: str) -> list[tuple[str, str | None]]:
        return [(e.status, e.reason) for e in published
                if isinstance(e, OrderUpdate) and e.account == account]  # fmt: skip

    try:
        await router.place(order("acct-a", 1))
        await router.place(order("acct-b", 1))
        await router.place(order("acct-c", 1))
        placed = [(k, p["newClientOrderId"]) for k, m, pth, p in exchange.keyed
                  if m == "POST" and pth == "/fapi/v1/order"]  # fmt: skip
        assert placed == [(A_KEY, order("acct-a", 1).client_order_id),
                          (B_KEY, order("acct-b", 1).client_order_id)]  # fmt: skip
        assert {k for k, *_ in exchange.keyed} == {A_KEY, B_KEY}  # the operator's: never
        assert statuses("acct-a")[-1][0] == "FILLED" and statuses("acct-b")[-1][0] == "FILLED"
        assert statuses("acct-c") == [("REJECTED", "account acct-c has no Binance API key "
                                       "attached: attach a key pair with PUT "
                                       "/api/v1/accounts/acct-c/credentials")]  # fmt: skip

        # bob's key revoked at the exchange: his account stops, alice's goes on
        del exchange.other_keys[B_KEY]
        await router.place(order("acct-b", 2))
        assert statuses("acct-b")[-1][0] == "REJECTED" and "-2015" in str(statuses("acct-b")[-1])
        stored = await credentials.find(db, "acct-b")
        assert stored is not None and stored["status"] == "revoked"
        calls = len(exchange.keyed)
        await router.place(order("acct-b", 3))
        assert "was refused by Binance" in str(statuses("acct-b")[-1][1])
        assert len(exchange.keyed) == calls  # not even tried
        r = await stack.call("GET", path.format("acct-b"), bob_h)
        assert r.json()["status"] == "revoked" and "-2015" in r.json()["reason"]
        await router.place(order("acct-a", 2))
        assert statuses("acct-a")[-1][0] == "FILLED"
    finally:
        await router.close()
        await producer.stop()

    # rotation: a new key first, re-encrypt, then the old key alone opens nothing
    old = keys_file.read_text().splitlines()[-1]
    new = Fernet.generate_key().decode()
    keys_file.write_text(f"{new}\n{old}\n")  # the gateway reads the file on each use
    r = await stack.call("POST", "/api/v1/admin/credentials/reencrypt", srv.admin_headers)
    assert r.json() == {"reencrypted": 2}, r.text
    doc = await credentials.find(db, "acct-a")
    assert doc is not None
    assert credentials.opened(credentials.Keyring([new]), doc) == (A_KEY, A_SECRET)
    with pytest.raises(Exception, match="do not decrypt"):
        credentials.opened(credentials.Keyring([old]), doc)

    # the sandbox's read-only user cannot read the collection at all
    ro: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.readonly_uri)
    try:
        with pytest.raises(OperationFailure):
            await ro[srv.settings.mongo_database][credentials.COLLECTION].find_one({})
    finally:
        await ro.close()

    # nowhere in clear: the store, the answers, the logs, the topics
    stored_bytes = await everything_stored(mongo)
    messages = await every_message(srv.settings)
    assert b"acct-a" in messages and b"acct-a" in stored_bytes  # the greps look at real data
    logs = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "acct-c has no Binance API key" in logs
    for secret in CLEAR:
        assert secret.encode() not in stored_bytes, "a clear key or secret in MongoDB"
        assert secret.encode() not in messages, "a clear key or secret on a topic"
        assert all(secret not in a for a in stack.answers), "a clear key or secret answered"
        assert secret not in logs, "a clear key or secret in the logs"
