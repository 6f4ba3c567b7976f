"""Fixtures shared by marketdata's tests: the local Binance stand-in, settings pointing at
it and at a fresh database, and that database's market handle (candle indexes ensured)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kwont_common.mongo import Database, Mongo
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_marketdata import store
from kwont_marketdata.settings import MarketdataSettings
from tests.services.marketdata.vendors import Binance, serve


@pytest.fixture
def binance() -> Binance:
    """The stand-in's state: tests put klines and funding rows into it."""
    return Binance()


@pytest.fixture
async def binance_url(binance: Binance) -> AsyncIterator[str]:
    """Base URL of the stand-in serving ``binance`` (python-binance's /api and /fapi)."""
    async with serve(binance.app()) as url:
        yield url


@pytest.fixture
def settings(mongo: MongoEndpoint, mongo_db: str, binance_url: str) -> MarketdataSettings:
    return MarketdataSettings(
        service_name="test", mongo_uri=mongo.app_uri, mongo_database=mongo_db,
        mongo_market_database=mongo_db, binance_api_url=f"{binance_url}/api",
        binance_futures_url=f"{binance_url}/fapi", log_json=False,
    )  # fmt: skip


@pytest.fixture
async def db(settings: MarketdataSettings) -> AsyncIterator[Database]:
    """The market database of ``settings``, with the candle store's indexes."""
    m = Mongo.connect(settings)
    await store.ensure_indexes(m.market_write)
    yield m.market_write
    await m.close()
