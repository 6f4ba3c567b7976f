"""The paper venue: orders from ``orders`` against the paper positions in Mongo (rules in
:mod:`kwont_execution.paper`, state in :mod:`kwont_execution.store`); the candle path it
stands on, closed candles from ``candles`` against the positions' stops, is
:class:`kwont_execution.paper_stops.PaperStops`.

Exactly once: an order is claimed under its client order id first; every position change
is a compare-and-set that journals its events; outcomes are stored (``orders``, ``fills``,
the claim) before the handler returns them for publishing. A redelivered message
re-publishes what is stored and changes nothing.

Arrival order: when an entry opens a position, candles of its interval already stored
after the signal's candle, up to the newest the stop consumers have started on
(``paper_candles_passed``; never beyond: a replay from the store holds candles not yet
published), are checked at once, in order (marketdata stores a candle
before publishing it); the candle path first checks any stored candles a position has
not seen before the one in hand. So whether the entry or the next candles arrive first,
each candle after the signal's is checked once, in time order.
"""

from __future__ import annotations

import asyncio

from kwont_common.errors import TransientError
from kwont_common.events import Event, Order
from kwont_execution import audit, outcomes, paper
from kwont_execution.outcomes import event_doc, event_from_doc
from kwont_execution.paper_stops import ATTEMPTS, PaperStops
from kwont_execution.stop_gate import StopHeld


class PaperVenue(PaperStops):
    """Handles paper orders and checks paper positions' stops on closed candles."""

    async def handle(self, order: Order) -> list[Event]:
        """Fill or reject ``order``; returns the events to publish (a redelivery: the same
        events as the first time).

        Raises:
            TransientError: lost the compare-and-set ``ATTEMPTS`` times in a row.
        """
        # the position is read with the claim (a compare-and-set catches any change since)
        prior, slot = await asyncio.gather(
            self.store.claim(order), self.store.load(order.account, order.symbol)
        )
        (account, owner), filters = await asyncio.gather(
            self.accounts.get(order.account), self.accounts.filters(order.symbol)
        )
        if prior is not None and prior.get("outcome") is not None:
            answered = [event_from_doc(d) for d in prior["outcome"]]
            # the outcome is written beside the fills and statuses, not after them: make
            # sure they landed too (idempotent writes)
            await outcomes.store(self.db, answered, owner, order)
            return answered
        key = f"order:{order.client_order_id}"
        for attempt in range(ATTEMPTS):
            if attempt:
                slot = await self.store.load(order.account, order.symbol)
            replayed = await self.store.replay(slot, key, later=True) if prior else None
            if replayed is not None:  # crashed after acting, before answering
                events = replayed
                break
            price = paper.market_price(order, self.ticks.get(order.symbol))
            done = paper.execute(order, slot.position, price, account, filters)
            if not done.changed:
                events = done.events
                break
            if await self.store.commit(slot, done.position, key=key, events=done.events):
                events = done.events
                slot = slot.after(done.position)
                break
        else:
            raise TransientError(f"paper position {order.account}:{order.symbol} kept changing")
        # the order's own fills and status are final: stored while the catch-up runs and
        # the outcome is recorded (an exit the catch-up makes is stored by _check, with the
        # entry fills re-sent before it)
        stored = asyncio.ensure_future(outcomes.store(self.db, events, owner, order))
        later: list[Event] = []
        try:
            if slot.position is not None and events and not _rejected(events):
                # Candles the stop consumers passed while the order was on its way; never
                # beyond them (a replay from the store holds candles not published yet).
                seen = await self.passed(order.symbol, slot.position.interval)
                if seen is not None:
                    try:
                        later = await self.catch_up(slot, key, through=seen)
                    except StopHeld:
                        # not waited for here (this order's key may carry the signal the
                        # stop waits for): revisit_held retries it
                        await self.store.hold(slot, seen)
        except BaseException:
            await asyncio.wait({stored})
            raise
        events = events + later
        await asyncio.gather(
            stored,
            self.store.finish(order.client_order_id, events),
            audit.record(
                self.db,
                venue=paper.VENUE,
                account=order.account,
                symbol=order.symbol,
                client_order_id=order.client_order_id,
                correlation_id=str(order.correlation_id),
                request=order.model_dump(mode="json"),
                response=[event_doc(e) for e in events],
            ),
        )
        return events


def _rejected(events: list[Event]) -> bool:
    return any(getattr(e, "status", None) == "REJECTED" for e in events)
