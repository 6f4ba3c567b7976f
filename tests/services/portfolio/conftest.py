"""The portfolio service in-process against the session's real broker and MongoDB, and what
the tests need to feed it fills and candles and read what it publishes and stores."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_common.events import Fill, PortfolioSnapshot
from kwont_common.kafka.admin import ensure_topics
from kwont_common.testing import read_topic, service_settings, serving
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_portfolio.main import setup
from kwont_portfolio.settings import PortfolioSettings

# The gateway's session fixtures, for the test that reads portfolios through its API.
from tests.services.gateway.conftest import (  # noqa: F401
    binance_standin,
    gateway,
    gateway_dbs,
    gateway_settings,
)

T0 = 1_700_000_000_000


def make_settings(bootstrap: str, mongo_uri: str, database: str, **kw: Any) -> PortfolioSettings:
    return service_settings(PortfolioSettings, "portfolio", bootstrap, mongo_uri, database, **kw)


@pytest.fixture
def settings(kafka_bootstrap: str, mongo: MongoEndpoint, mongo_db: str) -> PortfolioSettings:
    return make_settings(kafka_bootstrap, mongo.app_uri, mongo_db)


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    try:
        yield client[mongo_db]
    finally:
        await client.close()


@asynccontextmanager
async def running(settings: PortfolioSettings) -> AsyncIterator[None]:
    """The service, served in this event loop until the block ends (then exit code 0)."""
    await ensure_topics(settings)
    async with serving(settings, setup):
        yield


def fill(
    account: str, symbol: str, side: str, qty: str, price: str, t: int, fee: str = "0", **kw: Any
) -> Fill:
    """A paper fill whose trade id is unique per account, symbol and time."""
    fields: dict[str, Any] = {
        "event_time": t, "source": "test", "account": account, "symbol": symbol,
        "correlation_id": uuid.uuid4(), "client_order_id": f"ke-{uuid.uuid4().hex}",
        "venue": "paper", "trade_id": f"{symbol}-{t}", "side": side,
        "quantity": Decimal(qty), "price": Decimal(price), "fee": Decimal(fee),
    }  # fmt: skip
    fields.update(kw)
    return Fill.model_validate(fields)


async def until(condition: Callable[[], Any], timeout: float = 20) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy; return it."""
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.05)


async def snapshots(settings: PortfolioSettings, count: int) -> list[PortfolioSnapshot]:
    topic = f"{settings.topic_prefix}portfolio-snapshots"
    raw = await read_topic(settings.kafka_bootstrap_servers, topic, count)
    return [PortfolioSnapshot.model_validate_json(v) for v in raw]
