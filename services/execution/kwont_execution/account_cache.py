"""Accounts' settings and owners, and symbols' exchange filters, cached for a short time
(``account_cache_ttl_s``, one cache per process shared by the order routing, the paper
venue and its stop checks): the order and candle paths must not pay a Mongo round trip
for them on every message."""

from __future__ import annotations

import asyncio
import time

from kwont_common.mongo import Database
from kwont_common.trading.accounts import AccountConfig, load_account, owner_of
from kwont_common.trading.exchange import SymbolFilters

SYMBOLS = "symbols"


class AccountCache:
    """``await cache.get(account)`` -> ``(AccountConfig, owner)``, re-read after ``ttl_s``."""

    def __init__(self, db: Database, ttl_s: float) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, AccountConfig, str | None]] = {}
        self._filters: dict[str, tuple[float, SymbolFilters]] = {}

    async def get(self, account: str) -> tuple[AccountConfig, str | None]:
        """The account's settings (defaults without a document) and owner (None if no
        deployment names it)."""
        now = time.monotonic()
        hit = self._entries.get(account)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1], hit[2]
        config, owner = await asyncio.gather(
            load_account(self.db, account), owner_of(self.db, account)
        )
        self._entries[account] = (now, config, owner)
        return config, owner

    async def filters(self, symbol: str) -> SymbolFilters:
        """The symbol's exchange filters from ``symbols`` (none without a document).

        Raises:
            ValueError: a stored filter is not a number.
        """
        now = time.monotonic()
        hit = self._filters.get(symbol)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        doc = await self.db[SYMBOLS].find_one({"_id": symbol}, {"filters": 1})
        filters = SymbolFilters.from_doc(doc)
        self._filters[symbol] = (now, filters)
        return filters
