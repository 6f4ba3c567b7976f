"""The paper venue's order decision as one pure function: an order, its position (as the
partition store holds it), the stop check of the candles up to the order's candle and the
market price in, an :class:`OrderPlan` out. :class:`kwont_execution.paper_venue.PaperVenue`
reads first (the account, the filters, the candles, a pinned tick), decides with
:func:`on_order`, and applies the plan in one place: one change of the partition's state
under the order's offset, then the documents queued behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kwont_common.events import Event, Fill, Order
from kwont_common.trading.accounts import AccountConfig
from kwont_common.trading.exchange import SymbolFilters
from kwont_execution import paper
from kwont_execution.paper import Outcome
from kwont_execution.paper_book import Record
from kwont_execution.paper_position import Bar, Position


@dataclass(frozen=True)
class Scan:
    """A position checked against candles: as it stands after the candles that fired
    nothing, and the exit of the first that fired (None: none did)."""

    position: Position
    exit: Outcome | None = None
    bar: Bar | None = None


@dataclass(frozen=True)
class Written:
    """What goes to the documents behind: ``events`` with the order (None: a protective
    exit), the audit id and the request audited."""

    events: tuple[Event, ...]
    order: Order | None
    audit_id: str
    request: dict[str, Any]


@dataclass(frozen=True)
class OrderPlan:
    """What handling an order does: the events to publish (in order), the position after
    it (``changed`` False: the slot is untouched) and the documents to write behind."""

    events: tuple[Event, ...]
    record: Record | None
    changed: bool
    written: tuple[Written, ...]


def exit_audit_id(exit_: Outcome, bar: Bar) -> str:
    """The audit document of a protective exit (one per leg and candle)."""
    leg = getattr(exit_.events[0], "client_order_id", "")
    return f"paper:{leg}:candle:{bar.open_time}"


def exit_written(scan: Scan) -> Written:
    """The documents of the protective exit ``scan`` found."""
    assert scan.exit is not None and scan.bar is not None
    request = {"candle": scan.bar.__dict__}
    return Written(tuple(scan.exit.events), None, exit_audit_id(scan.exit, scan.bar), request)


def on_order(
    order: Order,
    record: Record | None,
    scan: Scan | None,
    price: tuple[float, int] | None,
    account: AccountConfig,
    filters: SymbolFilters,
) -> OrderPlan:
    """The plan for ``order`` against ``record``: the stops of the candles up to the
    order's (``scan``, None when not checked) act first, as in the engine, then the order
    is filled or rejected (:func:`kwont_execution.paper.execute`)."""
    before: tuple[Event, ...] = ()
    written: list[Written] = []
    changed = False
    if record is not None and scan is not None and scan.exit is not None:
        before, record, changed = tuple(scan.exit.events), None, True
        written.append(exit_written(scan))
    elif record is not None and scan is not None:
        record, changed = Record(scan.position, record.opening), True
    position = None if record is None else record.position
    decided = paper.execute(order, position, price, account, filters)
    if decided.changed:
        opened = decided.position
        changed = True
        record = None if opened is None else Record(opened, _fills(decided.events))
    request = order.model_dump(mode="json")
    written.append(Written(tuple(decided.events), order, f"paper:{order.client_order_id}",
                           request))  # fmt: skip
    return OrderPlan((*before, *decided.events), record, changed, tuple(written))


def _fills(events: list[Event]) -> tuple[Event, ...]:
    """The entry's fills, sent again before its exit."""
    return tuple(e for e in events if isinstance(e, Fill))
