"""A gateway for the session: served in-process against the session's real engines (tansu,
SecantusDB, Redis), with its own platform and market databases and topic prefix."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from kwont_common.kafka import EventProducer
from kwont_common.kafka.admin import ensure_topics
from kwont_common.mongo import Database, Mongo
from kwont_common.service import serve
from kwont_devstack.mongo_users import APP_USER, READONLY_USER, MongoEndpoint, client
from kwont_gateway.main import setup
from kwont_gateway.settings import GatewaySettings
from kwont_gateway.users import ensure_admin
from tests.services.execution.binance_futures_server import BinanceFutures
from tests.services.gateway.factories import Server, candle_buckets, login, symbol_docs
from tests.services.marketdata.vendors import serve as serve_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def gateway_dbs(mongo: MongoEndpoint) -> Iterator[tuple[str, str]]:
    """(platform db, market db) for the session's gateway, seeded with symbols and candles."""
    suffix = uuid.uuid4().hex[:8]
    names = (f"gw_kwont_{suffix}", f"gw_ohlcv_{suffix}")
    with client(mongo.admin_uri) as admin_client:
        admin = admin_client.admin
        for name in names:
            admin.command("grantRolesToUser", APP_USER, roles=[{"role": "readWrite", "db": name}])
            admin.command("grantRolesToUser", READONLY_USER, roles=[{"role": "read", "db": name}])
        admin_client[names[0]].symbols.insert_many(symbol_docs())
        for symbol in ("BTCUSDT", "ETHUSDT", "ETHBTC"):
            admin_client[names[1]].candles.insert_many(candle_buckets(symbol))
        try:
            yield names
        finally:
            for name in names:
                admin_client.drop_database(name)


@pytest.fixture(scope="session")
async def binance_standin() -> AsyncIterator[str]:
    """A Binance futures stand-in the gateway checks attached key pairs against; its URL."""
    async with serve_app(BinanceFutures().app()) as url:
        yield url


@pytest.fixture(scope="session")
def gateway_settings(
    binance_standin: str,
    kafka_bootstrap: str,
    mongo: MongoEndpoint,
    redis_url: str,
    gateway_dbs: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> GatewaySettings:
    run_dir: Path = tmp_path_factory.mktemp("gateway-run")
    return GatewaySettings(
        service_name="gateway",
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_idempotence=False,
        topic_prefix=f"gw{uuid.uuid4().hex[:8]}.",
        topic_partitions=2,
        mongo_uri=mongo.app_uri,
        mongo_database=gateway_dbs[0],
        mongo_market_database=gateway_dbs[1],
        redis_url=redis_url,
        metrics_port=0,
        http_port=_free_port(),
        run_dir=run_dir,
        log_json=False,
        # Per-IP budgets are high: every test client comes from 127.0.0.1.
        rate_read_per_ip=1_000_000,
        rate_submit_per_ip=1_000_000,
        rate_read_per_user=100_000,
        login_fail_per_ip=1_000_000,
        ws_session_check_s=0.5,
        credentials_keys=SecretStr(Fernet.generate_key().decode()),
        binance_futures_url=f"{binance_standin}/fapi",
    )


@pytest.fixture(scope="session")
async def gateway(gateway_settings: GatewaySettings) -> AsyncIterator[Server]:
    """The running gateway, ready (push feed assigned), with an admin logged in."""
    s = gateway_settings
    await ensure_topics(s)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(s, setup, stop))
    server = Server(f"http://127.0.0.1:{s.http_port}", s, admin_password="admin-password-123")
    async with httpx.AsyncClient(base_url=server.base_url) as c:
        for _ in range(300):
            assert not task.done(), f"gateway stopped: {task.result()}"
            try:
                if (await c.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("gateway not ready in 30s")
    m = Mongo.connect(s)
    await ensure_admin(m.write, server.admin_password, s.run_dir)
    await m.close()
    tokens = await login(server, "admin", server.admin_password)
    server.admin_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    try:
        yield server
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0


@pytest.fixture(scope="session")
async def producer(gateway: Server) -> AsyncIterator[EventProducer]:
    """Publishes as the runner would, on the gateway's topics."""
    p = EventProducer(gateway.settings)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture(scope="session")
async def db(gateway: Server) -> AsyncIterator[Database]:
    """The gateway's platform database (to play the runner's writes)."""
    m = Mongo.connect(gateway.settings)
    try:
        yield m.write
    finally:
        await m.close()
