"""Account settings, owners and symbol filters, read from Mongo and cached briefly (an admin's
change takes effect within ``limits_cache_s``)."""

from __future__ import annotations

import time
from typing import Any

from kwont_common.mongo import Database
from kwont_common.trading.accounts import AccountConfig, load_account, owner_of
from kwont_common.trading.exchange import SymbolFilters

SYMBOLS = "symbols"


class Directory:
    """Cached look-ups of the platform database."""

    def __init__(self, db: Database, ttl_s: float) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    async def _cached(self, kind: str, key: str, load: Any) -> Any:
        now = time.monotonic()
        hit = self._cache.get((kind, key))
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        value = await load()
        self._cache[(kind, key)] = (now, value)
        return value

    async def account(self, account: str) -> AccountConfig:
        """The account's settings (defaults without a document).

        Raises:
            pydantic.ValidationError: the stored document is not valid settings.
        """
        config: AccountConfig = await self._cached(
            "account", account, lambda: load_account(self.db, account)
        )
        return config

    async def owner(self, account: str) -> str | None:
        """The user ``account`` belongs to (by the deployment naming it), or None."""
        owner: str | None = await self._cached("owner", account, lambda: owner_of(self.db, account))
        return owner

    async def filters(self, symbol: str) -> SymbolFilters:
        """The symbol's exchange filters (none for a symbol without a document)."""

        async def load() -> SymbolFilters:
            doc = await self.db[SYMBOLS].find_one({"_id": symbol}, {"filters": 1})
            return SymbolFilters.from_doc(doc)

        filters: SymbolFilters = await self._cached("filters", symbol, load)
        return filters
