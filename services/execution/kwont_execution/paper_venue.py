"""The paper venue: orders from ``orders`` against the paper positions of the owned
``orders`` partitions, in memory (:mod:`kwont_execution.paper_book`, kept by a
:class:`~kwont_common.state.PartitionStore`); the candle path it stands on is
:class:`kwont_execution.paper_checks.PaperChecks`.

Decide, then apply: the rules are plain functions (:mod:`kwont_execution.paper`), and the
order's decision one pure function returning a plan (:mod:`kwont_execution.paper_plan`);
the handler reads the position and the candles through the order's candle (so a replay
decides on the same position as the first run), decides, applies the plan in one change
under the order's offset (``store.apply``), checks the candles read since the signal's
candle against a new position, queues what the gateway and portfolio read (write-behind)
and returns the events to publish. No database round trip on the way, but two: candles
this replica has not read (from the store), and the tick a fill used when it was newer
than the signal's candle (a tick is not part of the input, so the first run's is kept in
``exec_orders`` and a replay fills at the same price).

Exactly once without claims or journals: an order the snapshot already reflects is
skipped, and so is a copy of an answered order (``Book.answered``); one after the snapshot
is decided again on the state the snapshot holds, to the same events (ids derived from the
order's), which downstream drops by event id. The snapshot names an order only once its
events are acknowledged and its documents stored.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from pymongo import ReturnDocument

from kwont_common.events import Event, Order
from kwont_common.kafka import Input, current_input
from kwont_execution import paper
from kwont_execution.paper_book import Book, Record, slot_key
from kwont_execution.paper_funding import PaperFunding
from kwont_execution.paper_plan import Scan, exit_written, on_order
from kwont_execution.stop_gate import StopHeld
from kwont_execution.venue import Report
from kwont_execution.write_behind import CLAIMS


class PaperVenue(PaperFunding):
    """Handles paper orders, checks paper positions' stops on closed candles and pays
    their funding."""

    async def assigned(self, partitions: Any, log_start: Any = None) -> Any:
        """The orders consumer's ``on_assigned``: load the snapshots, then check the loaded
        positions up to the newest candle read (returns where to seek)."""
        before = self.store.owned
        seeks = await self.store.assign(partitions, log_start)
        for p in sorted(self.store.owned - before):
            self.revisit(p)
            await self.fund_partition(p)
        return seeks

    async def revoked(self, partitions: Any) -> None:
        """The orders consumer's ``on_revoked``: store what is queued, write and drop."""
        await self.behind.written()
        await self.store.revoke(partitions)

    async def place(self, order: Order) -> Report:
        """The venue contract (:mod:`kwont_execution.venue`): :meth:`handle`'s events, all
        for the caller to publish."""
        events = tuple(await self.handle(order))
        return Report(events, events)

    async def handle(self, order: Order) -> list[Event]:
        """Fill or reject ``order``; returns the events to publish."""
        return await self.handle_at(current_input(), order)

    async def handle_at(self, where: Input, order: Order) -> list[Event]:
        """:meth:`handle` for the input at ``where`` (topic, owned partition, offset)."""
        if self.store.reflects(*where):
            return []
        key = slot_key(order.account, order.symbol)
        async with self.lock(key):
            return await self._handle(order, key, where)

    async def _handle(self, order: Order, key: str, where: Input) -> list[Event]:
        """Read, decide (:func:`kwont_execution.paper_plan.on_order`, pure), apply."""
        book = self.store.state(where.partition)
        if order.client_order_id in book.answered:
            return []  # a copy (risk republished it): the first was or will be published
        account, owner = await self.accounts.get(order.account)
        filters = await self.accounts.filters(order.symbol)
        record = book.get(key)
        scan = None
        if record is not None and order.candle_open_time is not None:
            # the stops on the candles up to the signal's act first, as in the engine
            with contextlib.suppress(StopHeld):
                scan = await self.scan(record.position, order.candle_open_time)
        price = await self._price(order)
        funded: list[Event] = []
        if record is not None and price is not None and (scan is None or scan.exit is None):
            record, scan, funded = await self._fund_before(record, scan, price[1])
        plan = on_order(order, record, scan, price, account, filters)

        def change(b: Book) -> None:
            b.answer(order.client_order_id)
            if funded:
                b.put(key, record)
            if plan.changed:
                b.put(key, plan.record)

        self.store.apply(*where, change)
        for w in plan.written:
            self.behind.outcome(list(w.events), owner, w.order, w.audit_id, w.request)
        since = await self._fund_new(where, key, book)
        later = await self._catch_up(where, key, book, owner)
        return [*funded, *plan.events, *since, *later]

    async def _fund_before(
        self, record: Record, scan: Scan | None, fill_time: int
    ) -> tuple[Record, Scan | None, list[Event]]:
        """The funding times already read that the open position owes before an order on it
        fills at ``fill_time`` (a late funding reader: the exit must not skip them), paid on
        the record and on the candle scan's position alike."""
        moved, events = await self.funding_owed(record.position, before=fill_time)
        if not events:
            return record, scan, []
        if scan is not None:
            on = replace(scan.position, funding=moved.funding, funded_through=moved.funded_through)
            scan = replace(scan, position=on)
        return Record(moved, record.opening), scan, events

    async def _fund_new(self, where: Input, key: str, book: Book) -> list[Event]:
        """The funding times already read that a position just opened owes (its entry at or
        before them: a late order), paid under the order's offset."""
        record = book.get(key)
        if record is None:
            return []
        moved, events = await self.funding_owed(record.position)
        if events:
            self.store.apply(*where, lambda b: b.put(key, Record(moved, record.opening)))
        return events

    async def _price(self, order: Order) -> tuple[float, int] | None:
        """The market price of ``order``; one from a tick is kept with the order so that
        a replay fills at the same price."""
        price = paper.market_price(order, self.ticks.get(order.symbol))
        if price is None or (price[0], price[1]) == (order.reference_price, order.event_time):
            return price
        doc = await self.db[CLAIMS].find_one_and_update(
            {"_id": order.client_order_id},
            {"$setOnInsert": {"tick": [price[0], price[1]]}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        pinned = doc.get("tick") if doc else None
        return price if not pinned else (float(pinned[0]), int(pinned[1]))

    async def _catch_up(self, where: Input, key: str, book: Book, owner: str | None
                        ) -> list[Event]:  # fmt: skip
        """A new position against the candles read since the signal's (up to the newest
        this replica read: never one not yet published)."""
        record = book.get(key)
        if record is None:
            return []
        position = record.position
        newest = self.bars.newest(position.symbol, position.interval)
        if newest is None or newest <= position.checked_through:
            return []
        try:
            done = await self.scan(position, newest)
        except Exception:  # StopHeld: not waited for here (this key may carry what the gate
            # waits for); anything else: the order is applied, so never retry it: revisit
            self.held[key] = (where.partition, newest)
            return []
        if done.exit is None:
            moved = Record(done.position, record.opening)
            self.store.apply(*where, lambda b: b.put(key, moved))
            return []
        self.store.apply(*where, lambda b: b.put(key, None))
        w = exit_written(done)
        self.behind.outcome(list(w.events), owner, None, w.audit_id, w.request)
        return done.exit.events
