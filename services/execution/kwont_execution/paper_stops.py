"""The paper venue's candle path: closed candles from ``candles`` against the stops of the
paper positions in Mongo (the order path, :class:`kwont_execution.paper_venue.PaperVenue`,
builds on it and catches a new position up through :meth:`PaperStops.catch_up`). Exactly
once as the order path: an exit is a compare-and-set that journals its events under the
candle's key, stored before it is returned; a redelivered candle re-publishes what is stored.

A protective exit acts on a candle only once the signals of the candles before it are in
(:mod:`kwont_execution.stop_gate`): the candle path retries until then. An order's
catch-up does not wait (the order's own key may be what the gate waits for): it records
the hold (``paper_held``) and :meth:`PaperStops.revisit_held` retries it every ``flush_s``
and publishes what fires. The stop consumers' next candle would check it too, but at the
end of a feed or replay no next candle comes; the record also outlives a crash between
committing such an exit and publishing it.

A candle that fires nothing only advances the position's checked-through mark in memory
(:class:`kwont_execution.paper_checked.Checked`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import kwont_ohlcv as ohlcv
from kwont_common.errors import TransientError
from kwont_common.events import Candle, Event, Fill, OrderUpdate
from kwont_common.mongo import Database
from kwont_execution import audit, outcomes, paper
from kwont_execution.account_cache import AccountCache
from kwont_execution.outcomes import event_doc
from kwont_execution.paper_checked import Checked
from kwont_execution.paper_position import Bar, Position
from kwont_execution.stop_gate import StopGate, StopHeld
from kwont_execution.store import PositionStore, Slot
from kwont_execution.ticks import LastTicks

log = logging.getLogger(__name__)
ATTEMPTS = 20
"""Compare-and-set retries before the message is retried as a transient failure."""
PASSED = "paper_candles_passed"
"""Per ``SYMBOL:interval``, the newest candle the stop consumers have started checking."""
STORED_CANDLES = "candles"
"""Collection of candle buckets in the market-data database (kwont_marketdata.store)."""


class PaperStops:
    """Checks paper positions' stops on closed candles (and the catch-ups the order path
    and the stop gate's holds ask for)."""

    def __init__(
        self,
        db: Database,
        market_db: Database,
        accounts: AccountCache,
        ticks: LastTicks,
        stop_wait_s: float = 30.0,
        publish: Callable[[list[Event]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.publish = publish
        self.market_db = market_db
        self.accounts = accounts
        self.ticks = ticks
        self.store = PositionStore(db)
        self.gate = StopGate(db, stop_wait_s)
        self.checked = Checked()

    async def on_candle(self, candle: Candle) -> list[Event]:
        """Check every paper position on the candle's symbol and interval that has not
        seen it; returns the protective exits' events (a redelivery: the same)."""
        # First say this candle is being checked, then look for positions: an entry that
        # commits meanwhile reads the mark afterwards and checks the candle itself.
        await self.db[PASSED].update_one(
            {"_id": f"{candle.symbol}:{candle.interval}"},
            {"$max": {"open_time": candle.open_time}},
            upsert=True,
        )
        key = _candle_key(candle.interval, candle.open_time)
        slots = await self.store.watching(candle.symbol, candle.interval, candle.open_time, key)
        if not slots:
            return []
        bar = Bar(candle.open_time, candle.close_time, candle.open, candle.high, candle.low)
        results = await asyncio.gather(*(self._on_slot(slot, key, bar) for slot in slots))
        return [e for events in results for e in events]

    async def _on_slot(self, slot: Slot, key: str, bar: Bar) -> list[Event]:
        replayed = await self._replayed(slot, key, slot.opened_by(key))
        if replayed is not None:  # a redelivery
            return replayed
        slot = self.checked.apply(slot)
        position = slot.position
        if position is None:
            return []
        step = ohlcv.INTERVAL_MS[position.interval]
        if position.checked_through < bar.open_time - step:  # candles it has not seen
            return await self.catch_up(slot, key, bar)
        return (await self._check(slot, bar, key))[0]

    async def passed(self, symbol: str, interval: str) -> int | None:
        """Open time of the newest candle of ``symbol``/``interval`` the stop consumers have
        started checking (None before the first)."""
        doc = await self.db[PASSED].find_one({"_id": f"{symbol}:{interval}"})
        return None if doc is None else int(doc["open_time"])

    async def catch_up(
        self, slot: Slot, key: str, last: Bar | None = None, through: int = -1
    ) -> list[Event]:
        """Check ``slot``'s open position against the stored candles after the last one it
        saw, up to and including ``last`` (used even if not stored) or else the candle
        opening at ``through``; ``key`` names the message being handled (an exit is
        journalled under it)."""
        position = slot.position
        if position is None:
            return []
        end = through if last is None else last.open_time
        bars = await self._stored(position, end)
        if last is not None and (not bars or bars[-1].open_time < last.open_time):
            bars.append(last)
        for bar in bars:
            fired, slot = await self._check(slot, bar, key)
            if fired or slot.position is None:
                return fired
        return []

    async def _stored(self, position: Position, end: int) -> list[Bar]:
        """Stored candles of the position's interval with open time in
        ``(checked_through, end]``."""
        start = position.checked_through + 1
        if start > end:  # nothing after the candles seen (an entry usually): no read
            return []
        docs = await (
            self.market_db[STORED_CANDLES]
            .find(ohlcv.range_filter(position.symbol, position.interval, start, end + 1))
            .to_list(None)
        )
        cols = ohlcv.concat(docs, start, end + 1)
        step = ohlcv.INTERVAL_MS[position.interval]
        return [
            Bar(int(t), int(t) + step - 1, float(o), float(h), float(lo))
            for t, o, h, lo in zip(
                cols["open_time"], cols["open"], cols["high"], cols["low"], strict=True
            )
        ]

    async def _check(self, slot: Slot, bar: Bar, key: str) -> tuple[list[Event], Slot]:
        """One candle against one position: exit (journalled) or advance the position's
        checked-through mark. Re-reads and retries when another writer got there first.
        Returns the exit's events and the slot after."""
        for _ in range(ATTEMPTS):
            position = slot.position
            if position is None or position.checked_through >= bar.open_time:
                return [], slot
            account, owner = await self.accounts.get(position.account)
            filters = await self.accounts.filters(position.symbol)
            exit_ = paper.protect(position, bar, account, filters)
            if exit_ is None:
                self.checked.see(slot, bar.open_time)
                moved = replace(position, checked_through=bar.open_time)
                return [], Slot(slot.key, slot.version, moved, slot.applied)
            else:
                await self.gate.check(position, bar)
                if await self.store.commit(
                    slot, None, checked_through=bar.open_time, key=key, events=exit_.events
                ):
                    await self._record_exit(position, bar, exit_.events, owner)
                    # The entry fill goes out again first (same id: consumers drop the
                    # copy): the order path may not have published them yet, and a book
                    # must never see an exit before the entry it closes.
                    opening = await self.store.opening(slot.key, position.entry_order)
                    return opening + exit_.events, slot.after(None)
            slot = self.checked.apply(await self.store.load(position.account, position.symbol))
        raise TransientError(f"paper position {slot.key} kept changing")

    async def flush_checks(self, stop: asyncio.Event) -> None:
        """Service task: write the in-memory checked-through marks every ``flush_s``, and
        once more on the way out (the marks are only a head start after a restart)."""

        async def write() -> None:
            await self.store.advance(self.checked.take())

        await self._every_flush(stop, write, "writing checked-through marks")

    async def revisit_held(self, stop: asyncio.Event) -> None:
        """Service task: every ``flush_s``, retry the order catch-ups the stop gate held
        (every replica tries every hold: the compare-and-set lets one exit through, and a
        copy published twice carries the same event ids)."""

        async def retry() -> None:
            for hold in await self.store.holds():
                await self._revisit(hold)

        await self._every_flush(stop, retry, "retrying held paper stops")

    async def _every_flush(
        self, stop: asyncio.Event, step: Callable[[], Awaitable[None]], what: str
    ) -> None:
        """``step()`` every ``flush_s`` until ``stop``, and once more after it; a failure is
        logged and the next round tries again."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.checked.flush_s)
            try:
                await step()
            except Exception:
                log.warning("%s failed", what, exc_info=True)

    async def _revisit(self, hold: dict[str, Any]) -> None:
        key = _candle_key(hold["interval"], int(hold["through"]))
        slot = self.checked.apply(await self.store.load(hold["account"], hold["symbol"]))
        position = slot.position
        if position is not None and position.entry_order == hold["entry_order"]:
            try:
                events = await self.catch_up(slot, key, through=int(hold["through"]))
            except StopHeld:
                return  # next round (the gate lets it act after stop_wait_s at the latest)
        else:  # closed (here before a crash, by another replica, or by an order or candle)
            events = await self._replayed(slot, key, hold["entry_order"]) or []
        if events:
            if self.publish is None:
                raise RuntimeError("a held paper stop fired but this venue cannot publish")
            await self.publish(events)
        await self.store.release(hold)

    async def _replayed(self, slot: Slot, key: str, entry_order: str | None) -> list[Event] | None:
        """The exit message ``key`` journalled on ``slot`` (None: it made no transition
        there), stored again, after the fills of ``entry_order``, the entry it closed. The
        first run may have stopped before storing the exit's fills (killed after the
        commit), and the order path may not have published the entry either: a book must
        never see the exit first."""
        replayed = await self.store.replay(slot, key)
        if not replayed:
            return replayed
        await self._store_again(replayed)
        return await self.store.opening(slot.key, entry_order) + replayed

    async def _store_again(self, events: list[Event]) -> None:
        """Store journalled events found again (idempotent: each fill is written once, a
        status never goes back)."""
        owned = [e for e in events if isinstance(e, Fill | OrderUpdate)]
        if owned:  # one position's events: one account (outcomes stores only these kinds)
            _, owner = await self.accounts.get(owned[0].account)
            await outcomes.store(self.db, events, owner)

    async def _record_exit(
        self, position: Position, bar: Bar, events: list[Event], owner: str | None
    ) -> None:
        fill = events[0]
        await asyncio.gather(
            outcomes.store(self.db, events, owner),
            audit.record(
                self.db,
                venue=paper.VENUE,
                account=position.account,
                symbol=position.symbol,
                client_order_id=getattr(fill, "client_order_id", None),
                correlation_id=str(position.correlation_id),
                request={"candle": {"interval": position.interval, **bar.__dict__}},
                response=[event_doc(e) for e in events],
            ),
        )


def _candle_key(interval: str, open_time: int) -> str:
    return f"candle:{interval}:{open_time}"
