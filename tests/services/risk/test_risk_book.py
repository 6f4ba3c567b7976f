"""The risk book's compare-and-set from the process's own copy of a document (real
SecantusDB): a copy another writer made stale costs a retry and loses nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_devstack.mongo_users import MongoEndpoint
from kwont_risk.book import COLLECTION, mutate, with_fields
from kwont_risk.state import BookState

CASH = Decimal(1000)


def test_with_fields_sets_dotted_paths_on_a_copy() -> None:
    doc: dict[str, Any] = {"_id": "a", "in_flight": {"BTC": {"k1": {"leg": "x"}}}, "version": 3}
    out = with_fields(doc, {"in_flight.BTC.k2": {"leg": "e"}, "last_entry.BTC": 5, "version": 4})
    assert out == {
        "_id": "a",
        "in_flight": {"BTC": {"k1": {"leg": "x"}, "k2": {"leg": "e"}}},
        "last_entry": {"BTC": 5},
        "version": 4,
    }
    assert doc["in_flight"]["BTC"] == {"k1": {"leg": "x"}} and doc["version"] == 3


def put(symbol: str, coid: str) -> Any:
    def change(state: BookState, _doc: dict[str, Any]) -> dict[str, Any]:
        if coid in (state.in_flight.get(symbol) or {}):
            return {}
        return {f"in_flight.{symbol}.{coid}": {"leg": "e"}}

    return change


@pytest.mark.integration
async def test_a_stale_copy_is_read_again_and_no_write_is_lost(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    books = client[mongo_db][COLLECTION]
    docs: dict[str, dict[str, Any]] = {}
    try:
        await mutate(books, "acct", CASH, put("BTC", "k1"), docs)
        assert docs["acct"] == await books.find_one({"_id": "acct"})  # the copy is exact
        # another replica writes behind this process's back
        await books.update_one(
            {"_id": "acct"}, {"$set": {"in_flight.ETH.k9": {"leg": "x"}}, "$inc": {"version": 1}}
        )
        await mutate(books, "acct", CASH, put("BTC", "k2"), docs)
        stored = await books.find_one({"_id": "acct"})
        assert stored is not None and stored["version"] == 3
        assert set(stored["in_flight"]["BTC"]) == {"k1", "k2"}
        assert stored["in_flight"]["ETH"] == {"k9": {"leg": "x"}}
        assert docs["acct"] == stored
        # a change that finds nothing to do on a stale copy is decided on a fresh read
        await books.update_one(
            {"_id": "acct"}, {"$unset": {"in_flight.BTC.k1": ""}, "$inc": {"version": 1}}
        )
        await mutate(books, "acct", CASH, put("BTC", "k1"), docs)
        stored = await books.find_one({"_id": "acct"})
        assert stored is not None and set(stored["in_flight"]["BTC"]) == {"k1", "k2"}
    finally:
        await client.close()
