"""The paper venue's order decision as a pure function (kwont_execution.paper_plan): an
order, its position and the stop check of the candles before it -> the plan the handler
applies in one change. No engines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pytest

from kwont_common.events import Event, Fill, OrderUpdate
from kwont_common.trading.exchange import NO_FILTERS
from kwont_execution import paper
from kwont_execution.paper_book import Record
from kwont_execution.paper_plan import Scan, exit_audit_id, on_order
from kwont_execution.paper_position import Bar
from tests.services.execution.test_paper_rules import ACCOUNT, T0, order

pytestmark = pytest.mark.unit
MIN = 60_000


def same(a: Iterable[Event], b: Iterable[Event]) -> bool:
    """The same events but for ``produced_at`` (the envelope's wall clock)."""
    return [e.model_dump(exclude={"produced_at"}) for e in a] == [
        e.model_dump(exclude={"produced_at"}) for e in b
    ]


def opened() -> Record:
    entry = order("BUY")
    out = paper.execute(entry, None, paper.market_price(entry, None), ACCOUNT)
    assert out.position is not None
    return Record(out.position, tuple(e for e in out.events if isinstance(e, Fill)))


def test_an_entry_on_a_flat_slot_opens_the_position_and_writes_its_outcome() -> None:
    entry = order("BUY")
    price = paper.market_price(entry, None)
    plan = on_order(entry, None, None, price, ACCOUNT, NO_FILTERS)
    made = paper.execute(entry, None, price, ACCOUNT)
    assert same(plan.events, made.events) and plan.changed
    assert plan.record is not None and plan.record.position == made.position
    assert same(plan.record.opening, made.events[:1])
    [w] = plan.written
    assert (w.order, w.audit_id, w.events) == (entry, f"paper:{entry.client_order_id}",
                                               plan.events)  # fmt: skip


def test_a_stop_before_the_orders_candle_acts_first_then_the_order_on_the_flat_slot() -> None:
    record = opened()
    bar = Bar(T0 + MIN, T0 + 2 * MIN - 1, 99.0, 99.5, 91.0)  # through the 2% stop
    stopped = paper.protect(record.position, bar, ACCOUNT)
    assert stopped is not None
    flip = order("SELL", candle_open_time=T0 + 2 * MIN, event_time=T0 + 3 * MIN - 1)
    price = paper.market_price(flip, None)
    plan = on_order(flip, record, Scan(record.position, stopped, bar), price, ACCOUNT, NO_FILTERS)
    entered = paper.execute(flip, None, price, ACCOUNT)
    assert same(plan.events, (*stopped.events, *entered.events))
    assert plan.record is not None and plan.record.position == entered.position
    exit_w, order_w = plan.written
    assert exit_w.order is None and exit_w.audit_id == exit_audit_id(stopped, bar)
    assert order_w.order == flip


def test_a_refused_order_keeps_the_position_as_the_quiet_candles_moved_it() -> None:
    record = opened()
    moved = replace(record.position, checked_through=T0 + MIN)
    again = order("BUY", candle_open_time=T0 + MIN, event_time=T0 + 2 * MIN - 1)
    plan = on_order(again, record, Scan(moved), paper.market_price(again, None), ACCOUNT,
                    NO_FILTERS)  # fmt: skip
    [refused] = plan.events
    assert isinstance(refused, OrderUpdate) and refused.status == "REJECTED"
    assert plan.changed and plan.record == Record(moved, record.opening)


def test_a_reduce_only_order_on_a_flat_slot_is_refused_and_changes_nothing() -> None:
    close = order("SELL", reduce_only=True)
    plan = on_order(close, None, None, paper.market_price(close, None), ACCOUNT, NO_FILTERS)
    [refused] = plan.events
    assert isinstance(refused, OrderUpdate) and refused.status == "REJECTED"
    assert not plan.changed and plan.record is None
