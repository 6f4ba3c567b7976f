"""Symbol metadata from local Binance and CoinMarketCap stand-ins into SecantusDB, in the
gateway's document shape; admin edits survive; a vendor being down loses nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kwont_common.mongo import Database, Mongo
from kwont_devstack.pytest_plugin import MongoEndpoint
from kwont_gateway.models.symbols import SymbolPublic
from kwont_gateway.symbols import public
from kwont_marketdata import load, schedule, symbols
from kwont_marketdata.settings import MarketdataSettings
from tests.services.marketdata.vendors import (
    Binance,
    CoinMarketCap,
    serve,
    symbol_info,
    ticker,
)

pytestmark = pytest.mark.integration


def exchange() -> Binance:
    listed = [
        symbol_info("BTCUSDT", "BTC", "USDT", "0.01000000", "0.00001000", "5.00000000"),
        symbol_info("ETHBTC", "ETH", "BTC", "0.00001000", "0.00010000", "0.00010000"),
        symbol_info("OLDUSDT", "OLD", "USDT", "0.00010000", "1.00000000", "5.00000000", "BREAK"),
    ]
    tickers = [
        ticker("BTCUSDT", "42000.10000000", "1234567890.50000000"),
        ticker("ETHBTC", "0.05500000", "2500.25000000"),
    ]
    return Binance(symbols=listed, tickers=tickers)


@pytest.fixture
async def vendors() -> AsyncIterator[tuple[Binance, str, CoinMarketCap, str]]:
    binance, cmc = exchange(), CoinMarketCap(coins=[("BTC", 8.2e11), ("ETH", 2.7e11)])
    async with serve(binance.app()) as b_url, serve(cmc.app()) as c_url:
        yield binance, b_url, cmc, c_url


def configure(mongo: MongoEndpoint, db: str, binance_url: str, **over: Any) -> MarketdataSettings:
    return MarketdataSettings(**{
        "service_name": "test", "mongo_uri": mongo.app_uri, "mongo_database": db,
        "binance_api_url": f"{binance_url}/api", "binance_futures_url": f"{binance_url}/fapi",
        "cmc_api_key": "test-key", "log_json": False, **over,
    })  # fmt: skip


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Database]:
    m = Mongo.connect(configure(mongo, mongo_db, "http://unused"))
    await symbols.ensure_indexes(m.write)
    yield m.write
    await m.close()


async def test_refresh_stores_the_gateway_shape_and_keeps_admin_edits(
    vendors: tuple[Binance, str, CoinMarketCap, str], mongo: MongoEndpoint, mongo_db: str,
    db: Database,
) -> None:  # fmt: skip
    binance, b_url, cmc, c_url = vendors
    settings = configure(mongo, mongo_db, b_url, cmc_api_url=c_url)
    args = load.parser().parse_args(["refresh-symbols"])
    assert await load.command(args, settings) == 0

    btc = await db.symbols.find_one({"_id": "BTCUSDT"})
    assert btc is not None
    served = SymbolPublic.model_validate(public(btc))  # what GET /symbols/BTCUSDT answers
    assert served.model_dump() == {
        "symbol": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT", "status": "TRADING",
        "volume_24h": 1234567890.5, "market_cap": 8.2e11,
        "filters": {"tick_size": "0.01", "step_size": "0.00001", "min_qty": "0.00001",
                    "min_notional": "5"},
        "tags": [], "description": None,
    }  # fmt: skip
    assert btc["last_price"] == 42000.1
    old = await db.symbols.find_one({"_id": "OLDUSDT"})
    assert old is not None and old["status"] == "BREAK" and "volume_24h" not in old
    assert "market_cap" not in old  # CoinMarketCap does not list it

    # An admin edits through the gateway (its PATCH is a $set of these fields) ...
    edit = {"status": "HALT", "tags": ["layer-1"], "description": "digital gold",
            "market_cap": 1.0}  # fmt: skip
    await db.symbols.update_one({"symbol": "BTCUSDT"}, {"$set": edit})
    # ... and the vendors move on.
    binance.tickers[0] = ticker("BTCUSDT", "43000.00000000", "999.00000000")
    binance.symbols[1]["status"] = "HALT"
    cmc.coins = [("BTC", 9e11), ("ETH", 3e11)]
    assert await symbols.refresh(settings, db) == symbols.Refreshed(symbols=3, market_caps=2)

    btc = await db.symbols.find_one({"_id": "BTCUSDT"})
    assert btc is not None
    assert {k: btc[k] for k in edit} == edit  # the admin's word stands
    assert btc["volume_24h"] == 999.0 and btc["last_price"] == 43000.0  # Binance's moved
    assert btc["vendor"] == {"status": "TRADING", "market_cap": 9e11}
    eth = await db.symbols.find_one({"_id": "ETHBTC"})
    assert eth is not None and eth["status"] == "HALT" and eth["market_cap"] == 3e11
    assert await db.symbols.count_documents({}) == 3


async def test_without_a_key_market_caps_are_skipped_with_a_log_line(
    vendors: tuple[Binance, str, CoinMarketCap, str], mongo: MongoEndpoint, mongo_db: str,
    db: Database, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    _, b_url, _, c_url = vendors
    caplog.set_level(logging.INFO, logger="kwont_marketdata")
    settings = configure(mongo, mongo_db, b_url, cmc_api_url=c_url, cmc_api_key=None)
    assert await symbols.refresh(settings, db) == symbols.Refreshed(3, None)
    assert "no KWONT_CMC_API_KEY" in caplog.text
    btc = await db.symbols.find_one({"_id": "BTCUSDT"})
    assert btc is not None and "market_cap" not in btc and btc["volume_24h"] > 0

    bad_key = configure(mongo, mongo_db, b_url, cmc_api_url=c_url, cmc_api_key="wrong")
    assert await symbols.refresh(bad_key, db) == symbols.Refreshed(3, None)
    assert "This API Key is invalid." in caplog.text


async def test_vendors_down_warn_keep_the_data_and_the_task_keeps_running(
    vendors: tuple[Binance, str, CoinMarketCap, str], mongo: MongoEndpoint, mongo_db: str,
    db: Database, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    _, b_url, _, c_url = vendors
    await symbols.refresh(configure(mongo, mongo_db, b_url, cmc_api_url=c_url), db)
    before = await db.symbols.find({}).sort("_id").to_list(None)

    async with serve(Binance().app()) as dead_url:
        pass  # a port nothing listens on any more
    caplog.set_level(logging.WARNING, logger="kwont_marketdata")
    down = configure(mongo, mongo_db, dead_url, cmc_api_url=dead_url)
    stop = asyncio.Event()
    task = asyncio.create_task(
        schedule.every(0.05, lambda: symbols.refresh(down, db), "refresh_symbols")(stop)
    )
    await asyncio.sleep(0.5)
    assert not task.done(), "a vendor being down must not end the task"
    failures = [r for r in caplog.records if "refresh_symbols failed" in r.getMessage()]
    assert len(failures) >= 2 and "Cannot connect" in failures[0].getMessage()
    stop.set()
    await asyncio.wait_for(task, 1)
    assert await db.symbols.find({}).sort("_id").to_list(None) == before

    # Binance back, CoinMarketCap still down: exchange data refreshed, market caps kept.
    cmc_down = configure(mongo, mongo_db, b_url, cmc_api_url=dead_url)
    assert await symbols.refresh(cmc_down, db) == symbols.Refreshed(3, None)
    assert "CoinMarketCap unavailable" in caplog.text
    btc = await db.symbols.find_one({"_id": "BTCUSDT"})
    assert btc is not None and btc["market_cap"] == 8.2e11
    assert btc["refreshed_at"] > before[0]["refreshed_at"]


async def test_stop_cancels_a_refresh_stuck_on_a_silent_vendor(db: Database) -> None:
    hung = asyncio.Event()

    async def never_answers() -> None:
        hung.set()
        await asyncio.Event().wait()

    stop = asyncio.Event()
    task = asyncio.create_task(schedule.every(3600, never_answers, "stuck")(stop))
    await asyncio.wait_for(hung.wait(), 1)
    stop.set()
    await asyncio.wait_for(task, 1)
