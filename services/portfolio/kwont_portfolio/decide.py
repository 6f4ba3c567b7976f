"""Decide, then apply: what a fill, a funding payment or a mark does to an account (pure,
over the in-memory state of :mod:`kwont_portfolio.state`; the caller runs it inside
``PartitionStore.apply`` and applies the :class:`Plan`: publish its snapshots, queue its
document for the writer).

Snapshot ids are derived from the input: a fill's from the fill's identity, a mark's from
the mark, so a replay after a crash or a rebalance republishes the same events and
downstream drops them by event id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kwont_common.events import Fill, FundingPaid, PortfolioSnapshot
from kwont_common.trading.books import fill_key
from kwont_portfolio.snapshot import (
    Mark,
    build,
    fill_snapshot_id,
    funding_snapshot_id,
    mark_of_fill,
    mark_snapshot_id,
    marks_to_doc,
    merge,
    state_fields,
)
from kwont_portfolio.state import AccountState, Book


@dataclass
class Plan:
    """What to apply: snapshots to publish, and the account's document fields with the
    equity-curve point to write behind (None: nothing changed)."""

    snapshots: list[PortfolioSnapshot] = field(default_factory=list)
    account: str = ""
    fields: dict[str, Any] | None = None
    points: list[tuple[int, Decimal]] = field(default_factory=list)

    def then(self, after: Plan) -> Plan:
        """This plan followed by ``after`` (of the same account)."""
        if after.fields is None:
            return self
        points = self.points + after.points
        return Plan(self.snapshots + after.snapshots, after.account, after.fields, points)


def _plan(account: str, state: AccountState, snap: PortfolioSnapshot, publish: bool) -> Plan:
    fields = state_fields(snap, state.event_time)
    fields.update(
        ledger=state.ledger.to_doc(),
        version=state.version,
        seen=list(state.seen),
        marks=marks_to_doc(state.marks),
        symbols=sorted(state.ledger.positions),
        snapshot_time=state.snapshot_time,
    )
    if state.owner is not None:
        fields["owner"] = state.owner
    return Plan([snap] if publish else [], account, fields, [(state.event_time, snap.equity)])


def book_fill(
    book: Book, fill: Fill, cash: Decimal, leverage: int, asset: str,
    owner: str | None, market: Mark | None, interval_ms: int,
) -> Plan:  # fmt: skip
    """Book ``fill`` once (a fill booked before: an empty plan); the snapshot after it, and
    one more at ``market`` (the symbol's latest mark here) when that is newer than the
    fill's price."""
    state = book.account(fill.account, cash, asset)
    key = fill_key(fill)
    if state.booked(key):
        return Plan()
    state.ledger.apply(fill, leverage)
    state.remember(key)
    state.marks = merge(state.marks, {fill.symbol: mark_of_fill(fill)}, state.ledger)
    state.version += 1
    state.event_time = max(state.event_time, fill.event_time)
    state.snapshot_time = max(state.snapshot_time or 0, fill.event_time)
    if owner is not None:
        state.owner = owner
    book.reindex(fill.account)
    sid = fill_snapshot_id(fill.account, key)
    snap = build(fill.account, state.ledger, state.marks, fill.event_time, sid, asset)
    plan = _plan(fill.account, state, snap, publish=True)
    if market is None:
        return plan
    return plan.then(revalue(book, fill.account, fill.symbol, market, interval_ms))


def book_funding(
    book: Book, paid: FundingPaid, cash: Decimal, asset: str, owner: str | None
) -> Plan:
    """Book the funding payment ``paid`` once (one booked before: an empty plan): off the
    account's cash, onto the position's and the account's funding; the snapshot after it."""
    state = book.account(paid.account, cash, asset)
    key = f"funding:{paid.payment_key()}"
    if state.booked(key):
        return Plan()
    state.ledger.pay_funding(paid.symbol, paid.paid)
    state.remember(key)
    state.version += 1
    state.event_time = max(state.event_time, paid.event_time)
    state.snapshot_time = max(state.snapshot_time or 0, paid.event_time)
    if owner is not None:
        state.owner = owner
    sid = funding_snapshot_id(paid.account, key)
    snap = build(paid.account, state.ledger, state.marks, state.event_time, sid, asset)
    return _plan(paid.account, state, snap, publish=True)


def revalue(book: Book, account: str, symbol: str, mark: Mark, interval_ms: int) -> Plan:
    """Take ``mark`` as ``symbol``'s price in ``account`` if newer than its own; a snapshot
    when one is due (at most one per ``interval_ms`` of event time)."""
    state = book.accounts.get(account)
    if state is None:
        return Plan()
    old = state.marks
    marks = merge(old, {symbol: mark}, state.ledger)
    if marks.get(symbol) == old.get(symbol):
        return Plan()
    state.marks = marks
    state.version += 1
    state.event_time = max(state.event_time, mark.time)
    due = state.snapshot_time is None or state.event_time - state.snapshot_time >= interval_ms
    if due:
        state.snapshot_time = state.event_time
    sid = mark_snapshot_id(account, symbol, mark)
    snap = build(account, state.ledger, marks, state.event_time, sid, state.asset)
    return _plan(account, state, snap, publish=due)
