"""A reversal on the paper venue: risk sizes the entry on the fill it expects for the closing
order, so that fill must be the one the paper venue makes (price with slippage, fee,
quantity), and the book it projects must be the one booking the real fill leaves."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from kwont_common.events import Fill, Signal
from kwont_common.trading.accounts import AccountConfig
from kwont_common.trading.exchange import SymbolFilters
from kwont_common.trading.ledger import Ledger
from kwont_execution import paper
from kwont_risk import orders
from kwont_risk.state import BookState, equity_fields

pytestmark = pytest.mark.unit
T0 = 1_704_067_200_000 + 3_600_000
MIN = 60_000


def signal(action: str, t: int, price: float) -> Signal:
    sid = uuid.uuid4()
    return Signal(
        event_id=sid, correlation_id=sid, event_time=t, source="test", account="a",
        symbol="BTCUSDT", deployment_id="d", strategy="s", interval="1m", action=action,
        candle_open_time=t - MIN, reference_price=price,
    )  # fmt: skip


@pytest.mark.parametrize("held", [1, -1], ids=["long", "short"])
def test_the_expected_closing_fill_is_the_paper_venues_and_so_is_the_book_after_it(
    held: int,
) -> None:
    account = AccountConfig(account="a", fee_bps=7.5, slippage_bps=3, leverage=2)
    opening = signal("enter_long" if held == 1 else "enter_short", T0, 100.0)
    entry = orders.entry_order(opening, held, Decimal("12.345"), 2, SymbolFilters())
    opened = paper.execute(entry, None, paper.market_price(entry, None), account)
    entry_fill = opened.events[0]
    assert isinstance(entry_fill, Fill) and opened.position is not None

    book = BookState(ledger=Ledger(cash=account.cash), marks={"ETHUSDT": Decimal(2000)})
    book.ledger.apply(entry_fill, account.leverage)
    book.ledger.apply(  # another symbol's position, so equity is more than cash
        entry_fill.model_copy(update={"symbol": "ETHUSDT", "price": Decimal(1900)}), 2
    )
    book.equity = book.current_equity()
    book.peak_equity = book.equity + 50
    book.day, book.day_start_equity = T0 // 86_400_000, book.equity

    flip = signal("enter_short" if held == 1 else "enter_long", T0 + 7 * MIN, 104.2)
    closing = orders.closing_order(flip, held, entry.quantity, account.leverage)
    expected = orders.paper_fill(closing, account)
    actual = paper.execute(closing, opened.position, paper.market_price(closing, None), account)
    real = actual.events[0]
    assert isinstance(real, Fill) and expected is not None
    fields = ("side", "quantity", "price", "fee", "event_time", "reduce_only", "symbol")
    assert {f: getattr(expected, f) for f in fields} == {f: getattr(real, f) for f in fields}
    assert real.price != Decimal("104.2"), "slippage must be part of the comparison"

    projected = book.after_expected(expected, account.leverage)
    booked = BookState(ledger=Ledger.from_doc(book.ledger.to_doc()), marks=dict(book.marks))
    booked.ledger.apply(real, account.leverage)
    levels = equity_fields(book, booked, real.event_time)
    assert projected.ledger.to_doc() == booked.ledger.to_doc()
    assert "BTCUSDT" not in projected.ledger.positions
    assert str(projected.equity) == levels["equity"]
    assert str(projected.peak_equity) == levels["peak_equity"]
    assert str(projected.day_start_equity) == levels["day_start_equity"]
    assert projected.equity_without("BTCUSDT") == booked.equity_without("BTCUSDT")
    # the book it was projected from is untouched
    assert "BTCUSDT" in book.ledger.positions and book.ledger.cash != projected.ledger.cash


def test_no_expected_fill_without_a_reference_price() -> None:
    flip = signal("enter_short", T0, 100.0).model_copy(update={"reference_price": None})
    closing = orders.closing_order(flip, 1, Decimal(1), 1)
    assert orders.paper_fill(closing, AccountConfig(account="a")) is None
