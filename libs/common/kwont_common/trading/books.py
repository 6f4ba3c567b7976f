"""Exactly-once booking of fills into a per-account document.

A fill may arrive twice (at-least-once delivery, a re-published event). Each service that
keeps a :class:`~kwont_common.trading.ledger.Ledger` stores it in one Mongo document per
account together with the ids of the fills already booked and a version number; a fill is
booked by a compare-and-set on that version, so the ledger change and the "seen" mark land
together or not at all, and two writers never lose each other's update.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from kwont_common.errors import TransientError
from kwont_common.events import Fill
from kwont_common.trading.ledger import Booked, Ledger

SEEN_KEEP = 5000
"""How many booked fill ids a document remembers (redeliveries come within seconds)."""

Extra = Callable[[Ledger, dict[str, Any], Booked], dict[str, Any]]
"""Called after a fill is booked: returns more fields to ``$set`` in the same write."""


def fill_key(fill: Fill) -> str:
    """The identity of a fill: venue and venue trade id."""
    return f"{fill.venue}:{fill.trade_id}"


class BookStore:
    """Ledgers of accounts in ``collection`` (``_id`` = account id)."""

    def __init__(self, collection: Any, attempts: int = 20) -> None:
        self.collection = collection
        self.attempts = attempts

    async def load(self, account: str, cash: Decimal) -> tuple[Ledger, dict[str, Any]]:
        """The account's ledger and raw document (a fresh ledger with ``cash`` if none)."""
        doc = await self.collection.find_one({"_id": account})
        if doc is None or "ledger" not in doc:
            return Ledger(cash=cash), doc or {"_id": account}
        return Ledger.from_doc(doc["ledger"]), doc

    async def book(
        self,
        fill: Fill,
        cash: Decimal,
        leverage: int = 1,
        extra: Extra | None = None,
    ) -> tuple[Ledger, Booked | None]:
        """Book ``fill`` once. Returns the ledger after it and what it did (None when the
        fill was booked before: the ledger is returned unchanged).

        Raises:
            TransientError: the compare-and-set lost ``attempts`` races in a row.
        """
        key = fill_key(fill)
        for _ in range(self.attempts):
            ledger, doc = await self.load(fill.account, cash)
            if key in (doc.get("seen") or []):
                return ledger, None
            booked = ledger.apply(fill, leverage)
            fields = {"ledger": ledger.to_doc(), "version": int(doc.get("version", 0)) + 1}
            if extra is not None:
                fields.update(extra(ledger, doc, booked))
            update = {
                "$set": fields,
                "$push": {"seen": {"$each": [key], "$slice": -SEEN_KEEP}},
            }
            if "version" in doc:
                result = await self.collection.update_one(
                    {"_id": fill.account, "version": doc["version"]}, update
                )
                if result.matched_count == 1:
                    return ledger, booked
            else:
                try:
                    await self.collection.update_one(
                        {"_id": fill.account, "version": {"$exists": False}}, update, upsert=True
                    )
                    return ledger, booked
                except Exception as exc:  # duplicate key: another writer created it first
                    if "duplicate key" not in str(exc).lower() and "E11000" not in str(exc):
                        raise
        raise TransientError(f"could not book fill {key} for {fill.account}: too many races")
