"""Perpetual funding on the paper positions (docs/funding.md): every replica reads all of
``funding`` (no consumer group, from the start of the log, like the candles) and pays each
funding time on the open positions of the ``orders`` partitions it owns.

The rule: a position pays a funding time ``t`` when held at ``t`` (entry at or before
``t``; a position closed at or before ``t`` is no longer in the book), ``paid =
signed_qty x mark x rate`` (:func:`kwont_common.money.funding_payment`). The position's
``funding`` total grows by ``paid`` and a ``FundingPaid`` goes to ``funding-payments``
(portfolio takes ``paid`` off the account's cash).

Exactly once: a position remembers the last funding time it paid (``funded_through``), so
an event read again (the log from the start, a redelivery) pays nothing; the payment's id
derives from (position, funding time), so one published but not yet in the snapshot when
the replica crashed goes out again with the same id and portfolio drops the copy. The
latest funding times per symbol are kept in memory: a position opened by an order after
its funding time was read, or one on a partition just assigned, pays them then; an order
on an open position first pays those before its fill (an exit at ``t`` does not pay
``t``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

from pydantic import ValidationError

from kwont_common.events import Event, FundingPaid, FundingRate
from kwont_common.kafka.raw_consumer import follow
from kwont_common.money import funding_payment
from kwont_common.settings import Settings
from kwont_common.state import NotOwned
from kwont_common.topics import topic
from kwont_common.trading import ids
from kwont_common.trading.exchange import to_decimal
from kwont_execution.paper import SOURCE, VENUE
from kwont_execution.paper_book import Record
from kwont_execution.paper_checks import PaperChecks
from kwont_execution.paper_position import Position

log = logging.getLogger(__name__)
RECENT_KEEP = 16
"""Funding times remembered per symbol (five days at three a day)."""


def read_funding(value: bytes | None) -> FundingRate | None:
    """The ``FundingRate`` of a ``funding`` message, or None when it is not one."""
    try:
        return FundingRate.model_validate_json(value or b"")
    except ValidationError:
        return None


def due(position: Position, funding: FundingRate) -> bool:
    """Whether ``position`` owes ``funding``: same symbol, held at its time (opened at or
    before it) and not paid yet."""
    t = funding.funding_time
    return (
        position.symbol == funding.symbol
        and position.opened_at <= t
        and position.funded_through < t
    )


def pay(position: Position, funding: FundingRate, asset: str) -> tuple[Position, FundingPaid]:
    """``position`` after paying ``funding`` (its total and ``funded_through`` moved) and
    the event that says so."""
    paid = funding_payment(position.side * position.quantity, funding.mark_price, funding.rate)
    total = position.funding + paid
    t = funding.funding_time
    event = FundingPaid(
        event_id=ids.event_id(VENUE, "funding", position.entry_order, t),
        event_time=t,
        source=SOURCE,
        account=position.account,
        symbol=position.symbol,
        correlation_id=position.correlation_id,
        venue=VENUE,
        position=position.entry_order,
        funding_time=t,
        side="LONG" if position.side == 1 else "SHORT",
        quantity=position.quantity,
        mark_price=to_decimal(funding.mark_price),
        rate=to_decimal(funding.rate),
        paid=paid,
        asset=asset,
        position_funding=total,
    )
    return replace(position, funding=total, funded_through=t), event


def pay_all(
    position: Position, fundings: list[FundingRate], asset: str, before: int | None = None
) -> tuple[Position, list[FundingPaid]]:
    """``position`` after paying every one of ``fundings`` it owes (of a time before
    ``before``, when given), in time order."""
    events: list[FundingPaid] = []
    for funding in sorted(fundings, key=lambda f: f.funding_time):
        if due(position, funding) and (before is None or funding.funding_time < before):
            position, event = pay(position, funding, asset)
            events.append(event)
    return position, events


class PaperFunding(PaperChecks):
    """Funding of the owned paper positions (the candle path's sibling)."""

    def remember_funding(self, funding: FundingRate) -> None:
        """Keep ``funding`` among its symbol's latest (one per funding time)."""
        recent = {f.funding_time: f for f in self.recent_funding.get(funding.symbol, [])}
        recent[funding.funding_time] = funding
        times = sorted(recent)[-RECENT_KEEP:]
        self.recent_funding[funding.symbol] = [recent[t] for t in times]

    async def funding_owed(
        self, position: Position, before: int | None = None
    ) -> tuple[Position, list[Event]]:
        """``position`` after the remembered funding times it owes (before ``before``), and
        their events."""
        account, _ = await self.accounts.get(position.account)
        moved, events = pay_all(position, self.recent_funding.get(position.symbol, []),
                                account.asset, before)  # fmt: skip
        return moved, list(events)

    async def fund(self, partition: int, key: str) -> None:
        """Pay what the owned position ``key`` owes; publish, then move the book."""
        async with self.lock(key):
            try:
                record = self.store.state(partition).get(key)
            except NotOwned:
                return
            if record is None:
                return
            moved, events = await self.funding_owed(record.position)
            if not events:
                return
            await self.publish([*record.opening, *events])
            with contextlib.suppress(NotOwned):
                book = self.store.state(partition)
                now = book.get(key)
                if now is not None and now.position.entry_order == moved.entry_order:
                    # a candle check may have moved checked_through meanwhile: keep it
                    book.put(key, Record(replace(now.position, funding=moved.funding,
                                                 funded_through=moved.funded_through),
                                         now.opening))  # fmt: skip
                    self.store.changed(partition)

    async def fund_partition(self, partition: int) -> None:
        """Pay what the positions of a partition (just assigned) owe."""
        with contextlib.suppress(NotOwned):
            for key in sorted(self.store.state(partition).slots):
                await self.fund(partition, key)

    async def on_funding(self, funding: FundingRate) -> None:
        """A funding time read: remember it and pay it on the owned positions holding it."""
        self.remember_funding(funding)
        for p in sorted(self.store.owned):
            with contextlib.suppress(NotOwned):
                keys = [k for k, r in self.store.state(p).slots.items() if due(r.position, funding)]
                for key in keys:
                    try:
                        await self.fund(p, key)
                    except Exception:  # the broker away: the next event or assignment pays it
                        log.warning("paying funding on %s failed", key, exc_info=True)

    async def follow_funding(self, settings: Settings, stop: asyncio.Event) -> None:
        """Service task: read ``funding`` from the start (no group) and pay it."""
        name = topic("funding").full_name(settings.topic_prefix)
        await follow(
            settings, "kafka funding reader", name, read_funding, self.on_funding, stop,
            max_records=1000, auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.kafka_background_fetch_max_wait_ms,
        )  # fmt: skip
