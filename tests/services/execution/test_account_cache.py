"""``account_cache_ttl_s`` on real SecantusDB: an account's settings (and a symbol's filters)
are read again only once the TTL has passed; 0 reads every time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_execution.account_cache import AccountCache
from tests.services.execution.test_execution_paper import db  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration


async def test_a_fee_change_shows_once_the_ttl_has_passed(db: Any) -> None:  # noqa: F811
    await save_account(db, AccountConfig(account="ttl-a", fee_bps=4))
    await db.symbols.replace_one({"_id": "TTLUSDT"}, {"filters": {"step_size": "0.1"}}, upsert=True)
    cached, uncached = AccountCache(db, 0.5), AccountCache(db, 0)
    assert (await cached.get("ttl-a"))[0].fee_bps == 4
    first_filters = await cached.filters("TTLUSDT")
    await save_account(db, AccountConfig(account="ttl-a", fee_bps=7))
    await db.symbols.replace_one({"_id": "TTLUSDT"}, {"filters": {"step_size": "0.5"}})
    assert (await cached.get("ttl-a"))[0].fee_bps == 4  # within the TTL
    assert await cached.filters("TTLUSDT") == first_filters
    assert (await uncached.get("ttl-a"))[0].fee_bps == 7  # 0: read every time
    await asyncio.sleep(0.6)
    assert (await cached.get("ttl-a"))[0].fee_bps == 7
    assert await cached.filters("TTLUSDT") != first_filters
