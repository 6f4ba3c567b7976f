"""The risk book in Mongo (collection ``risk_books``, one document per account; fields in
:mod:`kwont_risk.state`).

Fills are booked exactly once through ``BookStore`` (compare-and-set on ``version``, with
the seen fill ids); every other writer (order updates, marks, in-flight orders, the kill
switch) makes the same compare-and-set on ``version``, so no writer loses another's change.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from kwont_common.errors import TransientError
from kwont_common.events import Fill, Order, OrderUpdate, PortfolioSnapshot, now_ms
from kwont_common.mongo import Database
from kwont_common.trading.accounts import load_account
from kwont_common.trading.books import BookStore
from kwont_common.trading.ledger import Booked, Ledger
from kwont_risk.accounts import Directory
from kwont_risk.rules import Refusal
from kwont_risk.state import (
    BookState,
    KillSwitch,
    after_fill,
    after_snapshot,
    after_update,
    equity_fields,
    in_flight_record,
    mark_fields,
    utc_day,
)

COLLECTION = "risk_books"
ATTEMPTS = 50

Change = Callable[[BookState, dict[str, Any]], dict[str, Any]]
"""Given the parsed and the raw document, the fields to ``$set`` (empty: no write)."""


NO_SEEN = {"seen": 0}
"""Projection of a book without the booked fill ids (only BookStore needs them)."""


async def mutate(
    collection: Any,
    account: str,
    cash: Decimal,
    change: Change,
    docs: dict[str, dict[str, Any]] | None = None,
) -> BookState:
    """Apply ``change`` to the account's document by compare-and-set on ``version``.

    ``docs`` (account -> document without ``seen``) is what this process last read or
    wrote: the first attempt starts from it instead of reading, and it is kept up to date.
    A stale copy costs one failed compare-and-set; a change that finds nothing to do on a
    copy is decided again on a fresh read.

    Raises:
        TransientError: lost ``ATTEMPTS`` races in a row.
    """
    docs = {} if docs is None else docs
    for attempt in range(ATTEMPTS):
        cached = docs.get(account) if attempt == 0 else None
        doc = cached or await collection.find_one({"_id": account}, NO_SEEN) or {"_id": account}
        state = BookState.from_doc(doc, cash)
        fields = change(state, doc)
        if not fields:
            if cached is not None:
                continue
            docs[account] = doc
            return state
        version = int(doc.get("version", 0)) + 1
        update = {"$set": {**fields, "version": version}}
        try:
            if "version" in doc:
                result = await collection.update_one(
                    {"_id": account, "version": doc["version"]}, update
                )
                written = result.matched_count == 1
            else:
                await collection.update_one(
                    {"_id": account, "version": {"$exists": False}}, update, upsert=True
                )
                written = True
        except Exception as exc:  # duplicate key: another writer created it first
            if "duplicate key" not in str(exc).lower() and "E11000" not in str(exc):
                raise
            written = False
        if written:
            docs[account] = with_fields(doc, {**fields, "version": version})
            return state
        docs.pop(account, None)
    raise TransientError(f"risk book of {account}: too many concurrent writes")


def with_fields(doc: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``doc`` after ``{"$set": fields}`` (dotted paths into sub-documents), as a copy."""
    out = copy.deepcopy(doc)
    for path, value in fields.items():
        *parents, last = path.split(".")
        node = out
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = copy.deepcopy(value)
    return out


class Book:
    """Reads and writes of the risk books; wakes waiting signals when a book changes."""

    def __init__(self, db: Database, directory: Directory) -> None:
        self.collection = db[COLLECTION]
        self.store = BookStore(self.collection)
        self.directory = directory
        self._pulses: dict[str, asyncio.Event] = {}
        self._docs: dict[str, dict[str, Any]] = {}  # see mutate()

    def _pulse(self, account: str) -> asyncio.Event:
        return self._pulses.setdefault(account, asyncio.Event())

    def _changed(self, account: str) -> None:
        pulse = self._pulses.pop(account, None)
        if pulse is not None:
            pulse.set()

    async def load(self, account: str, cash: Decimal) -> BookState:
        doc = await self.collection.find_one({"_id": account}, NO_SEEN)
        if doc is not None:
            self._docs[account] = doc
        return BookState.from_doc(doc, cash)

    async def _mutate(self, account: str, change: Change) -> BookState:
        cash = (await self.directory.account(account)).cash
        state = await mutate(self.collection, account, cash, change, self._docs)
        self._changed(account)
        return state

    # -- the book consumer group ---------------------------------------------------------

    async def on_fill(self, fill: Fill) -> None:
        """Book the fill once; move its order towards completion; mark and equity."""
        config = await self.directory.account(fill.account)

        def extra(ledger: Ledger, doc: dict[str, Any], booked: Booked) -> dict[str, Any]:
            before = BookState.from_doc(doc, config.cash)
            after = BookState.from_doc(doc, config.cash)
            after.ledger = ledger
            fields = mark_fields(after, doc, fill.symbol, fill.price, fill.event_time)
            fields |= after_fill(after, fill)
            return fields | equity_fields(before, after, fill.event_time)

        self._docs.pop(fill.account, None)  # BookStore writes it on its own
        await self.store.book(fill, config.cash, config.leverage, extra)
        self._changed(fill.account)

    async def on_order_update(self, update: OrderUpdate) -> None:
        """A terminal status ends the order's flight once its fills are booked."""
        await self._mutate(update.account, lambda state, _doc: after_update(state, update))

    async def on_snapshot(self, snap: PortfolioSnapshot) -> None:
        """Marks for unrealised PnL, and the equity levels they imply."""

        def change(state: BookState, doc: dict[str, Any]) -> dict[str, Any]:
            before = BookState.from_doc(doc, state.ledger.cash)
            fields = after_snapshot(state, doc, snap)
            return fields and fields | equity_fields(before, state, snap.event_time)

        await self._mutate(snap.account, change)

    # -- the signal side -----------------------------------------------------------------

    async def put_in_flight(self, *batch: Order) -> None:
        """Record approved orders of one account as in flight, in one write (and an entry's
        time, for the cooldown); nothing for one in flight already or completed."""

        def change(state: BookState, _doc: dict[str, Any]) -> dict[str, Any]:
            fields: dict[str, Any] = {}
            for order in batch:
                coid = order.client_order_id
                if coid in state.done or coid in (state.in_flight.get(order.symbol) or {}):
                    continue
                fields[f"in_flight.{order.symbol}.{coid}"] = in_flight_record(order)
                if not order.reduce_only:
                    fields[f"last_entry.{order.symbol}"] = order.event_time
            return fields

        await self._mutate(batch[0].account, change)

    async def trip(self, account: str, refusal: Refusal, time_ms: int) -> None:
        """Trip the kill switch (by the signal's event time)."""
        switch = KillSwitch(True, refusal.code, refusal.reason, time_ms, utc_day(time_ms))

        def change(state: BookState, _doc: dict[str, Any]) -> dict[str, Any]:
            if state.kill_switch.active(time_ms):
                return {}
            return {"kill_switch": switch.to_doc()}

        await self._mutate(account, change)

    async def wait_until(
        self,
        account: str,
        ready: Callable[[BookState], bool],
        stop: asyncio.Event,
        timeout_s: float,
        poll_s: float,
    ) -> tuple[BookState, bool]:
        """The book once ``ready(book)`` holds, re-read whenever this process changes the
        account's book and every ``poll_s`` (another replica's changes); ``(book, False)``
        after ``timeout_s``.

        Raises:
            TransientError: shutdown asked (the signal is redelivered after the restart).
        """
        cash = (await self.directory.account(account)).cash
        deadline = time.monotonic() + timeout_s
        while True:
            pulse = self._pulse(account)
            state = await self.load(account, cash)
            if ready(state):
                return state, True
            if stop.is_set():
                raise TransientError(f"stopping while {account} waits for its book")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return state, False
            waits = [asyncio.ensure_future(pulse.wait()), asyncio.ensure_future(stop.wait())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(
                    waits, timeout=min(poll_s, remaining), return_when=asyncio.FIRST_COMPLETED
                )
            for waiting in waits:
                waiting.cancel()

    async def wait_idle(
        self,
        account: str,
        symbol: str,
        stop: asyncio.Event,
        timeout_s: float,
        poll_s: float,
        ignore_signal: str | None = None,
    ) -> BookState:
        """The book once no order of ``account:symbol`` is in flight (orders of the signal
        ``ignore_signal`` aside).

        Raises:
            TransientError: still in flight after ``timeout_s`` (the signal is retried), or
                shutdown asked.
        """

        def idle(state: BookState) -> bool:
            return not state.busy(symbol, ignore_signal)

        state, done = await self.wait_until(account, idle, stop, timeout_s, poll_s)
        if not done:
            pending = sorted(state.in_flight.get(symbol) or {})
            raise TransientError(
                f"{account}:{symbol}: orders {pending} still in flight after {timeout_s}s"
            )
        return state


async def reset_kill_switch(db: Database, account: str, by: str | None = None) -> bool:
    """An admin's reset of ``account``'s kill switch: entries pass again, and the day-start
    and peak equity restart from the current equity (otherwise the breach that tripped the
    switch would trip it again on the next entry). For the CLI and the gateway.

    Returns whether a tripped switch was reset.
    """
    config = await load_account(db, account)
    reset_at = now_ms()

    def change(state: BookState, _doc: dict[str, Any]) -> dict[str, Any]:
        if not state.kill_switch.tripped:
            return {}
        equity = str(state.current_equity())
        switch = {**KillSwitch().to_doc(), "reset_at": reset_at, "reset_by": by}
        return {
            "kill_switch": switch,
            "equity": equity,
            "day_start_equity": equity,
            "peak_equity": equity,
        }

    before = await db[COLLECTION].find_one({"_id": account}, {"kill_switch": 1})
    if not (before and (before.get("kill_switch") or {}).get("tripped")):
        return False
    await mutate(db[COLLECTION], account, config.cash, change)
    return True
