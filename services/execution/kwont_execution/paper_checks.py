"""The paper venue's candle path, in memory: every replica reads all of ``candles`` (no
consumer group, from the start of the log: the positions' checked-through marks make the
candles they saw cheap to skip) and checks the stops of the positions of the ``orders``
partitions it owns (:mod:`kwont_execution.paper_book`). No database round trip per candle:
only a candle range this replica has not read is read from the store, and the stop gate
(:mod:`kwont_execution.stop_gate`) reads the signals only when a stop fires.

Exactly once: an exit's ids derive from the position's legs, its price from the candle and
the account, so checking the same candles again makes the same events. An exit is
published, stored (write-behind, waited for) and only then removed from the book; a crash
in between leaves the position open in the snapshot, and the candles read again fire the
same exit (dropped by event id downstream, an upsert in the store).

A stop the gate holds is remembered in memory (``held``) and retried every second
(:meth:`PaperChecks.revisit_held`); so are the positions of newly assigned partitions,
checked up to the newest candle read (a replica that took them over mid-stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from kwont_common.events import Event, FundingRate
from kwont_common.kafka.raw_consumer import follow
from kwont_common.mongo import Database
from kwont_common.settings import Settings
from kwont_common.state import NotOwned, PartitionStore
from kwont_common.topics import topic
from kwont_execution import paper
from kwont_execution.account_cache import AccountCache
from kwont_execution.bars import Bars, read_candle
from kwont_execution.paper_book import Book
from kwont_execution.paper_plan import Scan, exit_audit_id
from kwont_execution.paper_position import Bar, Position
from kwont_execution.stop_gate import StopGate, StopHeld
from kwont_execution.ticks import LastTicks
from kwont_execution.write_behind import WriteBehind

log = logging.getLogger(__name__)
Publish = Callable[[list[Event]], Awaitable[None]]


class PaperChecks:
    """Stops of the owned paper positions against closed candles."""

    def __init__(
        self, db: Database, market_db: Database, accounts: AccountCache, ticks: LastTicks,
        store: PartitionStore[Book], behind: WriteBehind, publish: Publish,
        stop_wait_s: float = 30.0,
    ) -> None:  # fmt: skip
        self.db = db
        self.accounts = accounts
        self.ticks = ticks
        self.store = store
        self.behind = behind
        self.publish = publish
        self.bars = Bars(market_db)
        self.gate = StopGate(db, stop_wait_s)
        self.held: dict[str, tuple[int, int]] = {}
        """Positions still to check: ``{slot key: (partition, through open time)}``."""
        self._locks: dict[str, asyncio.Lock] = {}
        self.recent_funding: dict[str, list[FundingRate]] = {}
        """The latest funding times read per symbol (:mod:`kwont_execution.paper_funding`)."""

    def lock(self, key: str) -> asyncio.Lock:
        """One check or order at a time per position."""
        return self._locks.setdefault(key, asyncio.Lock())

    async def scan(self, position: Position, through: int) -> Scan:
        """Check ``position`` against the candles after its mark up to ``through``.

        Raises:
            StopHeld: a stop fired but must wait for the signals before it (``held``).
        """
        bars = await self.bars.between(
            position.symbol, position.interval, position.checked_through + 1, through
        )
        account, _ = await self.accounts.get(position.account)
        filters = await self.accounts.filters(position.symbol)
        for bar in bars:
            exit_ = paper.protect(position, bar, account, filters)
            if exit_ is not None:
                await self.gate.check(position, bar)
                return Scan(position, exit_, bar)
            position = replace(position, checked_through=bar.open_time)
        return Scan(position)

    async def check(self, partition: int, key: str, through: int) -> None:
        """Check one owned position through the candle opening at ``through``; publish and
        store an exit, then close the position."""
        async with self.lock(key):
            try:
                book = self.store.state(partition)
            except NotOwned:
                self.held.pop(key, None)
                return
            record = book.get(key)
            if record is None or record.position.checked_through >= through:
                self.held.pop(key, None)
                return
            try:
                done = await self.scan(record.position, through)
            except StopHeld:
                self.held[key] = (partition, max(through, self.held.get(key, (0, 0))[1]))
                return
            if done.exit is None:
                book.checked(key, record.position.entry_order, done.position.checked_through)
                self.store.changed(partition)
                self.held.pop(key, None)
                return
            assert done.bar is not None
            _, owner = await self.accounts.get(record.position.account)
            await self.publish([*record.opening, *done.exit.events])
            self.behind.outcome(
                done.exit.events, owner, None, audit_id=exit_audit_id(done.exit, done.bar),
                request={"candle": {"interval": record.position.interval,
                                    **done.bar.__dict__}},
            )  # fmt: skip
            await self.behind.written()
            with contextlib.suppress(NotOwned):
                book = self.store.state(partition)
                if (now := book.get(key)) is not None and now.position == record.position:
                    book.put(key, None)
                    self.store.changed(partition)
            self.held.pop(key, None)

    def on_bar(self, symbol: str, interval: str, bar: Bar) -> list[tuple[int, str]]:
        """Remember a candle read; the owned positions it must be checked against."""
        self.bars.see(symbol, interval, bar)
        due: list[tuple[int, str]] = []
        for p in sorted(self.store.owned):
            due += [(p, k) for k in self.store.state(p).watching(symbol, interval, bar.open_time)]
        return due

    async def follow_candles(self, settings: Settings, stop: asyncio.Event) -> None:
        """Service task: read ``candles`` from the start (no group) and check the stops."""
        name = topic("candles").full_name(settings.topic_prefix)

        async def check_due(candle: tuple[str, str, Bar]) -> None:
            for p, key in self.on_bar(*candle):
                await self._check_or_hold(p, key, candle[2].open_time)

        await follow(
            settings, "kafka candles reader", name, read_candle, check_due, stop,
            max_records=1000, auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.kafka_background_fetch_max_wait_ms,
        )  # fmt: skip

    async def _check_or_hold(self, partition: int, key: str, through: int) -> None:
        """:meth:`check`; a failure (the database away) holds the position for the retry
        (an exit published but not stored goes out again, with the same ids)."""
        try:
            await self.check(partition, key, through)
        except Exception:
            log.warning("checking paper stop %s failed; retrying", key, exc_info=True)
            self.held[key] = (partition, max(through, self.held.get(key, (0, 0))[1]))

    def revisit(self, partition: int) -> None:
        """Check the positions of a partition just loaded up to the newest candle read."""
        for key, record in self.store.state(partition).slots.items():
            p = record.position
            newest = self.bars.newest(p.symbol, p.interval)
            if newest is not None and newest > p.checked_through:
                self.held[key] = (partition, newest)

    async def revisit_held(self, stop: asyncio.Event) -> None:
        """Service task: every second, check the held positions again."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            for key, (p, through) in list(self.held.items()):
                await self._check_or_hold(p, key, through)
