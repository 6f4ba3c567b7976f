"""The risk books in memory, per owned partition (:class:`kwont_common.state.PartitionStore`).

Every change is applied through ``store.apply`` under the input being handled (no I/O);
the documents, their snapshot and the API's ``risk_books`` view are in
:mod:`kwont_risk.documents`, the view written behind by :class:`WriteBehind`.

A fill or update of one of our orders (``kx-``/``ke-``) whose signal this state has not
decided yet waits for it: that only happens while a new owner replays (its inputs are read
topic by topic), and keeps the replay in the order of the original run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from kwont_common.errors import TransientError
from kwont_common.events import Fill, Order, OrderUpdate, PortfolioSnapshot
from kwont_common.kafka import current_input
from kwont_common.state import PartitionStore
from kwont_common.state.store import NotOwned
from kwont_common.state.writebehind import WriteBehind
from kwont_common.trading import ids
from kwont_common.trading.books import fill_key
from kwont_common.trading.ledger import Ledger
from kwont_risk.accounts import Directory
from kwont_risk.documents import COLLECTION, KEEP, Books, decided_field, setter, view
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

log = logging.getLogger(__name__)

Change = Callable[[BookState, dict[str, Any]], dict[str, Any]]
"""Given the parsed and the raw document, the fields to set (empty: no change)."""


class Book:
    """Reads and changes of the books of the owned partitions; wakes waiting signals."""

    def __init__(
        self,
        store: PartitionStore[Books],
        directory: Directory,
        views: WriteBehind,
        replay_wait_s: float = 10.0,
    ) -> None:
        self.store = store
        self.directory = directory
        self.views = views
        self.replay_wait_s = replay_wait_s
        self._pulses: dict[str, asyncio.Event] = {}

    def _pulse(self, account: str) -> asyncio.Event:
        return self._pulses.setdefault(account, asyncio.Event())

    def changed(self, account: str, doc: dict[str, Any]) -> None:
        """Queue the account's API view and wake what waits on its book."""
        self.views.put(COLLECTION, account, view(doc))
        pulse = self._pulses.pop(account, None)
        if pulse is not None:
            pulse.set()

    def doc(self, account: str, partition: int | None = None) -> dict[str, Any]:
        """The account's book document (of the handler's input partition by default).

        Raises:
            TransientError: the partition is no longer owned here (revoked meanwhile).
        """
        p = current_input().partition if partition is None else partition
        try:
            books = self.store.state(p)
        except NotOwned:
            raise TransientError(f"partition {p} of {account} is no longer owned") from None
        return books.setdefault(account, {"_id": account})

    async def load(self, account: str) -> BookState:
        """The account's parsed book (a new ledger gets its cash); raises as :meth:`doc`."""
        cash = (await self.directory.account(account)).cash
        return BookState.from_doc(self.doc(account), cash)

    async def _change(self, account: str, change: Change) -> BookState:
        cash = (await self.directory.account(account)).cash
        where = current_input()
        doc = self.doc(account, where.partition)
        state = BookState.from_doc(doc, cash)
        fields = change(state, doc)
        if fields:
            self.store.apply(*where, setter(doc, fields))
            self.changed(account, doc)
        return state

    # -- fills, order updates, snapshots -------------------------------------------------

    async def _known(self, account: str, symbol: str, coid: str) -> None:
        """Wait (while replaying) until the signal of one of our orders is decided here."""
        parsed = ids.parse_client_order_id(coid)
        if parsed is None or parsed[0] not in ("x", "e"):
            return

        def known(state: BookState) -> bool:
            return coid in (state.in_flight.get(symbol) or {}) or coid in state.done

        _, done = await self.wait_until(account, known, None, self.replay_wait_s, 0.5)
        if not done:
            log.warning("%s: order %s unknown after %ss; booked anyway", account, coid,
                        self.replay_wait_s)  # fmt: skip

    async def on_fill(self, fill: Fill) -> None:
        """Book the fill once; move its order towards completion; mark and equity."""
        config = await self.directory.account(fill.account)
        key = fill_key(fill)
        if key in (self.doc(fill.account).get("seen") or []):
            return
        await self._known(fill.account, fill.symbol, fill.client_order_id)

        def change(before: BookState, doc: dict[str, Any]) -> dict[str, Any]:
            after = BookState.from_doc(doc, config.cash)
            after.ledger = Ledger.from_doc(before.ledger.to_doc())
            after.ledger.apply(fill, config.leverage)
            fields = {"ledger": after.ledger.to_doc()}
            fields |= mark_fields(after, doc, fill.symbol, fill.price, fill.event_time)
            fields |= after_fill(after, fill) | equity_fields(before, after, fill.event_time)
            return fields | {"seen": [*(doc.get("seen") or []), key][-KEEP:]}

        await self._change(fill.account, change)

    async def on_order_update(self, update: OrderUpdate) -> None:
        """A terminal status ends the order's flight once its fills are booked."""
        await self._known(update.account, update.symbol, update.client_order_id)
        await self._change(update.account, lambda state, _doc: after_update(state, update))

    async def on_snapshot(self, snap: PortfolioSnapshot) -> None:
        """Marks for unrealised PnL, and the equity levels they imply."""

        def change(state: BookState, doc: dict[str, Any]) -> dict[str, Any]:
            before = BookState.from_doc(doc, state.ledger.cash)
            fields = after_snapshot(state, doc, snap)
            return fields and fields | equity_fields(before, state, snap.event_time)

        await self._change(snap.account, change)

    # -- the signal side -----------------------------------------------------------------

    def decided(self, account: str, signal_hex: str) -> dict[str, Any]:
        """What was decided for a signal before (``orders`` by leg, ``rejection``)."""
        return dict((self.doc(account).get("decided") or {}).get(signal_hex) or {})

    async def put_in_flight(self, *batch: Order) -> None:
        """Record approved orders of one signal as in flight and decided, in one change (and
        an entry's time, for the cooldown); nothing for one in flight already or done."""

        def change(state: BookState, doc: dict[str, Any]) -> dict[str, Any]:
            fields: dict[str, Any] = {}
            for order in batch:
                coid = order.client_order_id
                if coid in state.done or coid in (state.in_flight.get(order.symbol) or {}):
                    continue
                fields[f"in_flight.{order.symbol}.{coid}"] = in_flight_record(order)
                if not order.reduce_only:
                    fields[f"last_entry.{order.symbol}"] = order.event_time
            legs = {o.client_order_id.split("-")[0][1:]: o.model_dump(mode="json") for o in batch}
            return fields | decided_field(doc, batch[0].signal_id.hex, {"orders": legs})

        await self._change(batch[0].account, change)

    async def rejected(self, account: str, signal_hex: str, code: str, reason: str) -> None:
        """Record a signal's rejection (a re-delivery publishes it again)."""
        rejection = {"rejection": {"code": code, "reason": reason}}
        await self._change(account, lambda _s, doc: decided_field(doc, signal_hex, rejection))

    async def trip(self, account: str, refusal: Refusal, time_ms: int) -> None:
        """Trip the kill switch (by the signal's event time)."""
        switch = KillSwitch(True, refusal.code, refusal.reason, time_ms, utc_day(time_ms))

        def change(state: BookState, _doc: dict[str, Any]) -> dict[str, Any]:
            if state.kill_switch.active(time_ms):
                return {}
            return {"kill_switch": switch.to_doc()}

        await self._change(account, change)

    async def wait_until(
        self,
        account: str,
        ready: Callable[[BookState], bool],
        stop: asyncio.Event | None,
        timeout_s: float,
        poll_s: float,
    ) -> tuple[BookState, bool]:
        """The book once ``ready(book)`` holds, looked at again whenever the account's book
        changes (and every ``poll_s``); ``(book, False)`` after ``timeout_s``.

        Raises:
            TransientError: shutdown asked (the signal is redelivered after the restart), or
                the partition was revoked.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            pulse = self._pulse(account)
            state = await self.load(account)
            if ready(state):
                return state, True
            if stop is not None and stop.is_set():
                raise TransientError(f"stopping while {account} waits for its book")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return state, False
            waits = [asyncio.ensure_future(pulse.wait())]
            if stop is not None:
                waits.append(asyncio.ensure_future(stop.wait()))
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
