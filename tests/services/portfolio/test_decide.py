"""The pure decisions over the in-memory accounts: a fill booked once, the holders index,
marks newest-wins, ids from the input, and the snapshot document round trip."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from kwont_common.events import Fill
from kwont_common.trading.ledger import Ledger
from kwont_portfolio.decide import book_fill, revalue
from kwont_portfolio.snapshot import Mark, fill_snapshot_id, mark_snapshot_id
from kwont_portfolio.state import Book, dump, load

pytestmark = pytest.mark.unit
CASH = Decimal(1000)


def fill(symbol: str, side: str, qty: str, price: str, t: int) -> Fill:
    return Fill(
        event_time=t, source="t", account="a", symbol=symbol, correlation_id=uuid.uuid4(),
        client_order_id="c", venue="paper", trade_id=f"{symbol}-{t}", side=side,  # type: ignore[arg-type]
        quantity=Decimal(qty), price=Decimal(price), fee=Decimal("0.1"),
    )  # fmt: skip


def test_a_fill_is_booked_once_and_indexes_its_holder() -> None:
    book = Book()
    buy = fill("BTCUSDT", "BUY", "2", "100", 10)
    plan = book_fill(book, buy, CASH, 1, "USDT", "u1", None, 1000)
    (snap,) = plan.snapshots
    assert snap.event_id == fill_snapshot_id("a", "paper:BTCUSDT-10")
    assert book.holders == {"BTCUSDT": {"a"}} and plan.fields is not None
    assert plan.fields["version"] == 1 and plan.fields["owner"] == "u1"
    again = book_fill(book, buy, CASH, 1, "USDT", "u1", None, 1000)
    assert again.snapshots == [] and again.fields is None and book.accounts["a"].version == 1
    oracle = Ledger(cash=CASH)
    oracle.apply(buy)
    assert book.accounts["a"].ledger == oracle
    book_fill(book, fill("BTCUSDT", "SELL", "2", "101", 20), CASH, 1, "USDT", "u1", None, 1000)
    assert book.holders == {}  # closed: no longer revalued by BTC marks


def test_marks_newest_wins_publish_per_interval_and_a_newer_market_mark_follows_a_fill() -> None:
    book = Book()
    market = Mark(Decimal(105), 2000)
    plan = book_fill(
        book, fill("BTCUSDT", "BUY", "1", "100", 10), CASH, 1, "USDT", None, market, 1000
    )
    assert [s.equity for s in plan.snapshots] == [Decimal("999.9"), Decimal("1004.9")]
    assert len(plan.points) == 2 and plan.snapshots[1].event_id == mark_snapshot_id(
        "a", "BTCUSDT", market
    )
    assert revalue(book, "a", "BTCUSDT", Mark(Decimal(90), 40), 1000).fields is None  # older
    quiet = revalue(book, "a", "BTCUSDT", Mark(Decimal(106), 2060), 1000)
    assert quiet.fields is not None and quiet.snapshots == []  # within the interval
    due = revalue(book, "a", "BTCUSDT", Mark(Decimal(107), 4000), 1000)
    assert [s.equity for s in due.snapshots] == [Decimal("1006.9")]


def test_the_partition_snapshot_round_trips() -> None:
    book = Book()
    book_fill(book, fill("ETHUSDT", "SELL", "3", "50", 5), CASH, 2, "USDT", "u", None, 1000)
    back = load(dump(book))
    assert back == book and back.holders == {"ETHUSDT": {"a"}}
