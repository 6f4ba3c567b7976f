"""Portfolios in Mongo: one document per account in ``portfolios`` (``_id`` = account).

The document holds, all written together by a compare-and-set on ``version``:

- BookStore's ``ledger`` (Decimal strings), ``version`` and ``seen`` (fills booked);
- the latest snapshot's fields (``account``, ``balances``, ``positions``, ``equity``,
  ``realized_pnl``, ``unrealized_pnl``, ``fees_paid``, ``event_id``, ``event_time`` = the
  newest event time seen), which the gateway serves, and the account's ``owner``;
- ``marks`` of the symbols held and ``symbols`` (held; indexed, so a candle finds its
  accounts), ``snapshot_time`` (event time of the last published snapshot);
- the equity curve, packed (see :mod:`kwont_portfolio.curve`).

A fill is booked once (BookStore); a mark changes a document only when it is newer than
the one it holds, so a redelivered fill or candle changes nothing and a replay ends in the
same state.
"""

from __future__ import annotations

import time
from typing import Any

from kwont_common.errors import InvalidMessage, TransientError
from kwont_common.events import Fill, PortfolioSnapshot
from kwont_common.trading.accounts import AccountConfig, load_account, owner_of
from kwont_common.trading.books import BookStore
from kwont_common.trading.ledger import Booked, Ledger
from kwont_portfolio.curve import curve_fields
from kwont_portfolio.marks import COLLECTION as MARKS
from kwont_portfolio.marks import MarkStore
from kwont_portfolio.settings import PortfolioSettings
from kwont_portfolio.snapshot import (
    Mark,
    build,
    mark_of_fill,
    marks_from_doc,
    marks_to_doc,
    merge,
    state_fields,
)

COLLECTION = "portfolios"


class Accounts:
    """Account settings and owners, cached for ``ttl_s`` (an unknown owner is asked again)."""

    def __init__(self, db: Any, ttl_s: float) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._configs: dict[str, tuple[float, AccountConfig]] = {}
        self._owners: dict[str, tuple[float, str]] = {}

    async def config(self, account: str) -> AccountConfig:
        hit = self._configs.get(account)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        config = await load_account(self.db, account)
        self._configs[account] = (time.monotonic(), config)
        return config

    async def owner(self, account: str) -> str | None:
        hit = self._owners.get(account)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        owner = await owner_of(self.db, account)
        if owner is not None:
            self._owners[account] = (time.monotonic(), owner)
        return owner


class Portfolios:
    """Books fills and marks into the accounts' portfolio documents."""

    def __init__(self, db: Any, settings: PortfolioSettings, attempts: int = 20) -> None:
        self.collection = db[COLLECTION]
        self.books = BookStore(self.collection, attempts)
        self.marks = MarkStore(db[MARKS], attempts)
        self.accounts = Accounts(db, settings.account_cache_s)
        self.curve_max = settings.equity_curve_max
        self.step_ms = int(settings.equity_curve_step_s * 1000)
        self.interval_ms = int(settings.snapshot_interval_s * 1000)
        self.attempts = attempts

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("symbols", name="symbols")

    async def on_fill(self, fill: Fill) -> list[PortfolioSnapshot]:
        """Book ``fill`` once; the snapshot after it (none for a fill booked before), and
        one more when a newer mark of its symbol had raced it.

        Raises:
            InvalidMessage: the fee is in another asset than the account's cash.
            TransientError: Mongo races or hiccups (retried by the consumer).
        """
        config = await self.accounts.config(fill.account)
        if fill.fee_asset != config.asset:
            raise InvalidMessage(
                f"fill {fill.trade_id}: fee in {fill.fee_asset}, account {fill.account} "
                f"keeps {config.asset}"
            )
        owner = await self.accounts.owner(fill.account)
        made: list[PortfolioSnapshot] = []

        def extra(ledger: Ledger, doc: dict[str, Any], booked: Booked) -> dict[str, Any]:
            marks = merge(marks_from_doc(doc), {fill.symbol: mark_of_fill(fill)}, ledger)
            version = int(doc.get("version", 0)) + 1
            as_of = max(int(doc.get("event_time") or 0), fill.event_time)
            snap = build(fill.account, ledger, marks, fill.event_time, version, config.asset)
            made[:] = [snap]
            fields = self._fields(doc, snap, ledger, marks, as_of, owner)
            fields["snapshot_time"] = max(int(doc.get("snapshot_time") or 0), fill.event_time)
            return fields

        ledger, booked = await self.books.book(fill, config.cash, config.leverage, extra)
        if booked is None:
            return []
        latest = await self.marks.get(fill.symbol)
        if fill.symbol in ledger.positions and latest and latest.newer_than(mark_of_fill(fill)):
            made += await self.apply_marks(fill.account, {fill.symbol: latest})
        return made

    async def on_mark(self, symbol: str, mark: Mark) -> list[PortfolioSnapshot]:
        """Take ``mark`` as the symbol's price in every account holding it; the snapshots
        due (at most one per account per ``snapshot_interval_s`` of event time)."""
        if not await self.marks.put(symbol, mark):
            return []
        out: list[PortfolioSnapshot] = []
        # the documents as found are the first compare-and-set's base (one read per candle,
        # not one per account)
        async for doc in self.collection.find({"symbols": symbol}, {"seen": 0}):
            out += await self.apply_marks(str(doc["_id"]), {symbol: mark}, doc)
        return out

    async def apply_marks(
        self, account: str, new: dict[str, Mark], doc: dict[str, Any] | None = None
    ) -> list[PortfolioSnapshot]:
        """Revalue ``account`` at the marks of ``new`` that are newer than its own; ``doc``,
        when given, is the account's document as just read (without ``seen``).

        Raises:
            TransientError: the compare-and-set lost ``attempts`` races in a row.
        """
        for attempt in range(self.attempts):
            if attempt or doc is None:
                doc = await self.collection.find_one({"_id": account}, {"seen": 0})
            if doc is None or "ledger" not in doc:
                return []
            ledger = Ledger.from_doc(doc["ledger"])
            old = marks_from_doc(doc)
            marks = merge(old, new, ledger)
            changed = [m.time for s, m in marks.items() if m != old.get(s)]
            if not changed:
                return []
            version = int(doc["version"]) + 1
            as_of = max(int(doc.get("event_time") or 0), *changed)
            asset = (await self.accounts.config(account)).asset
            snap = build(account, ledger, marks, as_of, version, asset)
            owner = doc.get("owner") or await self.accounts.owner(account)
            fields = self._fields(doc, snap, ledger, marks, as_of, owner)
            fields["version"] = version
            due = "snapshot_time" not in doc or as_of - doc["snapshot_time"] >= self.interval_ms
            if due:
                fields["snapshot_time"] = as_of
            result = await self.collection.update_one(
                {"_id": account, "version": doc["version"]}, {"$set": fields}
            )
            if result.matched_count == 1:
                return [snap] if due else []
        raise TransientError(f"could not revalue {account}: too many races")

    def _fields(
        self,
        doc: dict[str, Any],
        snap: PortfolioSnapshot,
        ledger: Ledger,
        marks: dict[str, Mark],
        as_of: int,
        owner: str | None,
    ) -> dict[str, Any]:
        fields = state_fields(snap, as_of)
        fields["marks"] = marks_to_doc(marks)
        fields["symbols"] = sorted(ledger.positions)
        fields.update(curve_fields(doc, as_of, snap.equity, self.curve_max, self.step_ms))
        if owner is not None:
            fields["owner"] = owner
        return fields
