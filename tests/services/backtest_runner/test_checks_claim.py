"""The runner's claim of uploaded versions on a real SecantusDB: one claimable version is
found however many others are being checked (it was hidden behind the first 20 before)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_backtest_runner.checks import STALE_CHECK, claim
from kwont_devstack.mongo_users import MongoEndpoint

pytestmark = pytest.mark.integration


def version(status: str, claimed_at: dt.datetime | None = None) -> dict[str, Any]:
    check: dict[str, Any] = {"status": status}
    if claimed_at is not None:
        check.update(runner="other", claimed_at=claimed_at)
    return {"version": 1, "code": "x = 1", "check": check}


async def test_a_pending_version_is_claimed_behind_many_being_checked(
    mongo: MongoEndpoint,
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.admin_uri, tz_aware=True)
    db = client[f"claim_{uuid.uuid4().hex[:8]}"]
    now = dt.datetime.now(dt.UTC)
    try:
        busy = [{"_id": f"busy{i:02}", "versions": [version("checking", now)]} for i in range(30)]
        await db.strategies.insert_many(busy)
        assert await claim(db, "me") is None, "versions checked right now are not claimable"
        stale = now - STALE_CHECK - dt.timedelta(seconds=1)
        await db.strategies.insert_many([
            {"_id": "zz-pending", "versions": [version("valid"), version("pending")]},
            {"_id": "zz-stale", "versions": [version("checking", stale)]},
        ])  # fmt: skip
        got = {(await claim(db, "me") or ("none",))[0] for _ in range(2)}
        assert got == {"zz-pending", "zz-stale"}
        assert await claim(db, "me") is None
        doc = await db.strategies.find_one({"_id": "zz-pending"})
        assert doc is not None
        assert [v["check"]["status"] for v in doc["versions"]] == ["valid", "checking"]
        assert doc["versions"][1]["check"]["runner"] == "me"
    finally:
        await client.drop_database(db.name)
        await client.close()
