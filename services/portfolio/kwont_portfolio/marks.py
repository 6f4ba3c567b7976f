"""The latest mark of every symbol, in ``portfolio_marks`` (``_id`` = symbol).

The fills consumer reads it right after booking a fill, and the marks consumer writes it
before looking for the accounts that hold the symbol: whichever of the two comes second
sees the other's write, so a candle racing a fill that opens a position is never lost.
"""

from __future__ import annotations

from typing import Any

from kwont_common.errors import TransientError
from kwont_portfolio.snapshot import Mark

COLLECTION = "portfolio_marks"


class MarkStore:
    """Newest-wins marks per symbol, with an in-process copy that skips stale marks early
    and is the first compare-and-set's guess of the stored mark."""

    def __init__(self, collection: Any, attempts: int = 20) -> None:
        self.collection = collection
        self.attempts = attempts
        self.latest: dict[str, Mark] = {}

    async def get(self, symbol: str) -> Mark | None:
        doc = await self.collection.find_one({"_id": symbol})
        return None if doc is None else Mark.from_doc(doc)

    async def put(self, symbol: str, mark: Mark) -> bool:
        """Store ``mark`` unless a newer one is stored. True when ``mark`` is the symbol's
        latest (stored now, or before: a redelivered candle must still reach the accounts,
        in case the first delivery stopped between this write and theirs).

        Raises:
            TransientError: lost ``attempts`` races in a row.
        """
        known = self.latest.get(symbol)
        if known is not None and known.key() > mark.key():
            return False
        if known is not None and mark.newer_than(known):
            # this process's mark is usually still the stored one: replace it unread
            expected = {"_id": symbol, **known.to_doc()}
            result = await self.collection.replace_one(expected, mark.to_doc())
            if result.matched_count == 1:
                self.latest[symbol] = mark
                return True
        for _ in range(self.attempts):
            doc = await self.collection.find_one({"_id": symbol})
            stored = None if doc is None else Mark.from_doc(doc)
            if stored is not None and not mark.newer_than(stored):
                self.latest[symbol] = stored
                return stored.key() == mark.key()
            if doc is None:
                try:
                    await self.collection.insert_one({"_id": symbol, **mark.to_doc()})
                except Exception as exc:  # another writer created it first: compare again
                    if "duplicate key" not in str(exc).lower() and "E11000" not in str(exc):
                        raise
                    continue
            else:
                expected = {"_id": symbol, **{k: doc[k] for k in ("price", "time", "rank", "seq")}}
                result = await self.collection.replace_one(expected, mark.to_doc())
                if result.matched_count != 1:
                    continue
            self.latest[symbol] = mark
            return True
        raise TransientError(f"could not store the mark of {symbol}: too many races")
