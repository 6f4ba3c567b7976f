"""The state of one owned ``fills`` partition, in memory (pure: no I/O).

A :class:`Book` holds the accounts whose fills arrive on the partition: each one's ledger,
the ids of the fills booked (a fill republished after a crash upstream comes at another
offset, so the offsets alone do not drop it), its marks, a version counter and the times
the gateway shows. ``holders`` indexes the accounts by the symbols they hold, so a mark
finds the accounts to revalue without a database read. ``dump``/``load`` are the
:class:`~kwont_common.state.PartitionStore` snapshot of it (the equity curve is not in it:
it lives in the gateway's document, see :mod:`kwont_portfolio.writer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kwont_common.trading.ledger import Ledger
from kwont_portfolio.snapshot import Mark, marks_from_doc, marks_to_doc

SEEN_KEEP = 5000
"""How many booked fill ids an account remembers (redeliveries come within seconds)."""


@dataclass
class AccountState:
    """One account's book and what the gateway's document shows of it."""

    ledger: Ledger
    asset: str = "USDT"
    version: int = 0
    seen: list[str] = field(default_factory=list)
    marks: dict[str, Mark] = field(default_factory=dict)
    event_time: int = 0
    """The newest event time seen (the "as of" time)."""
    snapshot_time: int | None = None
    """Event time of the last published snapshot."""
    owner: str | None = None

    def booked(self, key: str) -> bool:
        """Whether the fill ``key`` is among the remembered booked ones."""
        return key in self.seen

    def remember(self, key: str) -> None:
        """Record the fill ``key`` as booked, keeping the newest ``SEEN_KEEP``."""
        self.seen.append(key)
        del self.seen[:-SEEN_KEEP]

    def to_doc(self) -> dict[str, Any]:
        """The account's state as a snapshot document."""
        return {
            "ledger": self.ledger.to_doc(),
            "asset": self.asset,
            "version": self.version,
            "seen": list(self.seen),
            "marks": marks_to_doc(self.marks),
            "event_time": self.event_time,
            "snapshot_time": self.snapshot_time,
            "owner": self.owner,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AccountState:
        """The state :meth:`to_doc` wrote (defaults for missing fields)."""
        return cls(
            ledger=Ledger.from_doc(doc["ledger"]),
            asset=str(doc.get("asset") or "USDT"),
            version=int(doc.get("version") or 0),
            seen=[str(k) for k in doc.get("seen") or []],
            marks=marks_from_doc(doc),
            event_time=int(doc.get("event_time") or 0),
            snapshot_time=doc.get("snapshot_time"),
            owner=doc.get("owner"),
        )


@dataclass
class Book:
    """The accounts of one partition and who holds which symbol."""

    accounts: dict[str, AccountState] = field(default_factory=dict)
    holders: dict[str, set[str]] = field(default_factory=dict)

    def account(self, account: str, cash: Decimal, asset: str) -> AccountState:
        """The account's state, a fresh one with ``cash`` when it is new here."""
        state = self.accounts.get(account)
        if state is None:
            state = self.accounts[account] = AccountState(Ledger(cash=cash), asset)
        return state

    def reindex(self, account: str) -> None:
        """Make ``holders`` match the account's open positions."""
        held = set(self.accounts[account].ledger.positions)
        for symbol in list(self.holders):
            if symbol not in held:
                self.holders[symbol].discard(account)
                if not self.holders[symbol]:
                    del self.holders[symbol]
        for symbol in held:
            self.holders.setdefault(symbol, set()).add(account)


def dump(book: Book) -> dict[str, Any]:
    """The partition's snapshot document: every account's state."""
    return {"accounts": {a: s.to_doc() for a, s in sorted(book.accounts.items())}}


def load(doc: dict[str, Any]) -> Book:
    """The book :func:`dump` wrote, with ``holders`` rebuilt from the positions."""
    book = Book({a: AccountState.from_doc(d) for a, d in (doc.get("accounts") or {}).items()})
    for account in book.accounts:
        book.reindex(account)
    return book
