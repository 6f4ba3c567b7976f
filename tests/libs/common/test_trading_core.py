"""Shared trading rules: deterministic ids, account defaults and the Decimal ledger."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_common.events import Fill
from kwont_common.trading.accounts import AccountConfig
from kwont_common.trading.books import BookStore
from kwont_common.trading.ids import client_order_id, parse_client_order_id, signal_id
from kwont_common.trading.ledger import Ledger
from kwont_devstack.pytest_plugin import MongoEndpoint

pytestmark = pytest.mark.unit

CID = uuid.uuid4()


def fill(side: str, qty: str, price: str, fee: str = "0", reduce_only: bool = False) -> Fill:
    return Fill(
        event_time=1, source="t", account="a", symbol="BTCUSDT", correlation_id=CID,
        client_order_id="c", venue="paper", trade_id="t", side=side,  # type: ignore[arg-type]
        quantity=Decimal(qty), price=Decimal(price), fee=Decimal(fee), reduce_only=reduce_only,
    )  # fmt: skip


def test_ids_are_deterministic_and_fit_binance() -> None:
    a = signal_id("dep1", "BTCUSDT", "1m", 60_000)
    assert a == signal_id("dep1", "BTCUSDT", "1m", 60_000)
    assert a != signal_id("dep1", "BTCUSDT", "1m", 120_000)
    for leg in ("e", "x", "sl", "tp"):
        coid = client_order_id(a, leg)
        assert len(coid) <= 36 and coid.replace("-", "").isalnum()
        assert parse_client_order_id(coid) == (leg, a)
    assert parse_client_order_id("web_123") is None
    with pytest.raises(ValueError, match="unknown order leg"):
        client_order_id(a, "zz")


def test_ledger_books_entry_partial_exit_and_reversal() -> None:
    book = Ledger(cash=Decimal(1000))
    assert book.apply(fill("BUY", "2", "100", "0.2")).opened
    assert book.positions["BTCUSDT"].average_entry == Decimal(100)
    book.apply(fill("BUY", "2", "110", "0.22"))
    assert book.positions["BTCUSDT"].average_entry == Decimal(105)
    done = book.apply(fill("SELL", "1", "115", "0.115"))
    assert done.realized == Decimal(10) and not done.closed
    # a reversal: sells 3 to close and 2 more to open a short at 120
    done = book.apply(fill("SELL", "5", "120", "0.6"))
    assert done.closed and done.opened is True
    assert done.realized == Decimal(45)
    short = book.positions["BTCUSDT"]
    assert (short.side, short.quantity, short.average_entry) == (-1, Decimal(2), Decimal(120))
    assert book.realized_pnl == Decimal(55)
    assert book.fees_paid == Decimal("1.135")
    assert book.cash == Decimal(1000) + Decimal(55) - Decimal("1.135")
    assert book.equity({"BTCUSDT": Decimal(110)}) == book.cash + Decimal(20)
    assert Ledger.from_doc(book.to_doc()) == book


def test_reduce_only_never_opens() -> None:
    book = Ledger(cash=Decimal(1000))
    book.apply(fill("SELL", "1", "100", reduce_only=True))
    assert book.positions == {}
    book.apply(fill("BUY", "1", "100"))
    book.apply(fill("SELL", "3", "90", reduce_only=True))
    assert book.positions == {} and book.realized_pnl == Decimal(-10)


def test_account_defaults_and_validation() -> None:
    cfg = AccountConfig(account="a")
    assert cfg.cash == Decimal(10_000) and cfg.fee_rate == 0.001 and cfg.leverage == 1
    assert AccountConfig.model_validate(cfg.to_doc() | {"account": "a"}) == cfg
    with pytest.raises(ValueError, match="max_drawdown"):
        AccountConfig(account="a", limits={"max_drawdown": 2})  # type: ignore[arg-type]


@pytest.mark.integration
async def test_book_store_books_each_fill_once(mongo: MongoEndpoint, mongo_db: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    store = BookStore(client[mongo_db]["books_test"])
    fills = [
        fill("BUY", "1", str(100 + i)).model_copy(update={"trade_id": f"t{i}"}) for i in range(8)
    ]
    # every fill twice, concurrently: each is booked exactly once
    results = await asyncio.gather(*(store.book(f, Decimal(1000)) for f in fills + fills))
    assert sum(1 for _, b in results if b is not None) == 8
    ledger, doc = await store.load("a", Decimal(1000))
    assert ledger.positions["BTCUSDT"].quantity == Decimal(8)
    assert ledger.positions["BTCUSDT"].average_entry == Decimal("103.5")
    assert doc["version"] == 8 and len(doc["seen"]) == 8
    await client.close()
