"""Snapshots, marks and the equity curve ring, as plain functions (oracle: the Ledger)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import numpy as np
import pytest

from kwont_common.events import Fill
from kwont_common.testing import candle
from kwont_common.trading.ledger import Ledger
from kwont_gateway.portfolio import curve_of
from kwont_portfolio.curve import curve_fields
from kwont_portfolio.snapshot import (
    RANK_CANDLE,
    RANK_FILL,
    Mark,
    build,
    fill_snapshot_id,
    mark_of_candle,
    mark_of_fill,
    merge,
)

pytestmark = pytest.mark.unit
CID = uuid.uuid4()


def fill(symbol: str, side: str, qty: str, price: str, t: int, fee: str = "0") -> Fill:
    return Fill(
        event_time=t, source="t", account="a", symbol=symbol, correlation_id=CID,
        client_order_id="c", venue="paper", trade_id=f"{symbol}-{t}", side=side,  # type: ignore[arg-type]
        quantity=Decimal(qty), price=Decimal(price), fee=Decimal(fee),
    )  # fmt: skip


def test_snapshot_values_positions_at_their_marks() -> None:
    ledger = Ledger(cash=Decimal(1000))
    ledger.apply(fill("BTCUSDT", "BUY", "2", "100", 1, "0.2"), leverage=4)
    ledger.apply(fill("ETHUSDT", "SELL", "3", "50", 2, "0.15"), leverage=2)
    marks = {"BTCUSDT": Mark(Decimal("104.5"), 10), "ETHUSDT": Mark(Decimal("47"), 10)}
    snap = build("a", ledger, marks, 10, fill_snapshot_id("a", "paper:7"))
    btc, eth = snap.positions
    assert (btc.side, btc.quantity, btc.average_entry) == ("LONG", Decimal(2), Decimal(100))
    assert btc.unrealized_pnl == (Decimal("104.5") - 100) * 2
    assert (eth.side, eth.unrealized_pnl) == ("SHORT", (50 - Decimal(47)) * 3)
    assert snap.unrealized_pnl == ledger.unrealized({s: m.price for s, m in marks.items()})
    assert snap.equity == ledger.cash + snap.unrealized_pnl == Decimal("1017.65")
    (usdt,) = snap.balances
    assert usdt.total == ledger.cash == Decimal("999.65")
    assert usdt.locked == Decimal(200) / 4 + Decimal(150) / 2  # entry notional / leverage
    assert snap.fees_paid == Decimal("0.35") and snap.event_id == fill_snapshot_id("a", "paper:7")
    assert snap.event_id != fill_snapshot_id("a", "paper:8") and btc.correlation_id == str(CID)


def test_marks_newest_wins_in_a_total_order_and_closed_positions_forget_theirs() -> None:
    ledger = Ledger(cash=Decimal(1000))
    ledger.apply(fill("BTCUSDT", "BUY", "1", "100", 1))
    at_fill = mark_of_fill(fill("BTCUSDT", "BUY", "1", "100", 60_000))
    closing = mark_of_candle(candle(open_time=0, price=101.5, close=101.5))
    assert closing.time == 59_999 and closing.price == Decimal("101.5")
    assert at_fill.newer_than(closing) and not closing.newer_than(at_fill)
    same_time = Mark(Decimal(99), 60_000, RANK_CANDLE)
    assert same_time.newer_than(at_fill) and at_fill.rank == RANK_FILL
    # either arrival order ends on the same marks
    one = merge(merge({}, {"BTCUSDT": at_fill}, ledger), {"BTCUSDT": same_time}, ledger)
    two = merge(merge({}, {"BTCUSDT": same_time}, ledger), {"BTCUSDT": at_fill}, ledger)
    assert one == two == {"BTCUSDT": same_time}
    assert merge({}, {"ETHUSDT": same_time}, ledger) == {}  # not held: no mark kept
    ledger.apply(fill("BTCUSDT", "SELL", "1", "101", 2))
    assert merge(one, {}, ledger) == {}


def test_curve_keeps_the_newest_points_and_its_last_point_is_the_latest_equity() -> None:
    doc: dict[str, object] = {}

    def put(t: int, equity: int, max_points: int = 4, step_ms: int = 0) -> list[list[float]]:
        doc.update(curve_fields(doc, t, Decimal(equity), max_points, step_ms))
        times, values = curve_of(doc)  # the gateway's reader
        return np.column_stack([times, values]).tolist()

    put(10, 100)
    assert put(10, 101) == [[10, 101]]  # same time: the last point is rewritten
    put(20, 102)
    # an older event: the account's "as of" stays 20 and the equity is the newest
    assert put(15, 103) == [[10, 101], [20, 103]]
    for t in (30, 40, 50):
        put(t, t)
    assert put(60, 60) == [[30, 30], [40, 40], [50, 50], [60, 60]]  # the newest 4
    put(65, 1, step_ms=10)  # within the step of the point opened at 60: carried forward
    assert put(69, 2, step_ms=10)[-1] == [69, 2]
    assert put(70, 3, step_ms=10) == [[40, 40], [50, 50], [69, 2], [70, 3]]
