"""The pieces of risk's in-memory book: changes set in place (dotted paths, copies), the
write-behind of the API's documents on real SecantusDB (idempotent upserts, the latest view
wins, a failed write stays queued), and the kill-switch reset request (applied once)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_common.state.writebehind import WriteBehind
from kwont_common.trading.ledger import Ledger
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_risk.documents import set_fields
from kwont_risk.resets import request_reset, reset_fields
from kwont_risk.state import BookState, KillSwitch

CASH = Decimal(1000)


def test_set_fields_sets_dotted_paths_in_place_as_copies() -> None:
    doc: dict[str, Any] = {"_id": "a", "in_flight": {"BTC": {"k1": {"leg": "x"}}}}
    record = {"leg": "e"}
    set_fields(doc, {"in_flight.BTC.k2": record, "last_entry.BTC": 5})
    assert doc == {
        "_id": "a",
        "in_flight": {"BTC": {"k1": {"leg": "x"}, "k2": {"leg": "e"}}},
        "last_entry": {"BTC": 5},
    }
    record["leg"] = "changed"
    assert doc["in_flight"]["BTC"]["k2"] == {"leg": "e"}, "the book must not share the value"


def test_a_reset_request_is_applied_once_and_restarts_the_equity_levels() -> None:
    switch = KillSwitch(True, "max_daily_loss", "down 6%", 1, 0).to_doc()
    doc: dict[str, Any] = {"kill_switch": switch, "ledger": Ledger(cash=Decimal(900)).to_doc(),
                           "day_start_equity": "1000", "peak_equity": "1000"}  # fmt: skip
    fields = reset_fields(BookState.from_doc(doc, CASH), doc, 50, "admin")
    switched = fields["kill_switch"]
    assert switched["tripped"] is False and switched["reset_by"] == "admin"
    levels = (fields["day_start_equity"], fields["peak_equity"], fields["reset_at"])
    assert levels == ("900", "900", 50)
    set_fields(doc, fields)
    assert reset_fields(BookState.from_doc(doc, CASH), doc, 50, "admin") == {}, "read again"
    # a request not newer than the book's last does nothing, a newer one on an untripped
    # switch only records that it was seen (a later trip is not reset by it)
    assert reset_fields(BookState.from_doc(doc, CASH), doc, 40, "admin") == {}
    assert reset_fields(BookState.from_doc(doc, CASH), doc, 60, "admin") == {"reset_at": 60}


@pytest.mark.integration
async def test_write_behind_upserts_idempotently_and_the_latest_view_wins(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db = client[mongo_db]
    views = WriteBehind(db)
    try:
        views.insert("risk_orders", "ke-1", {"leg": "e", "quantity": "1"})
        views.insert("risk_orders", "ke-1", {"leg": "e", "quantity": "2"})  # a replay's copy
        views.put("risk_books", "acct", {"equity": "1"})
        views.put("risk_books", "acct", {"equity": "2"})
        assert views.pending == 2 and await views.flush() == 2
        views.insert("risk_orders", "ke-1", {"leg": "e", "quantity": "3"})  # after a crash
        assert await views.flush() == 1
        assert await db["risk_orders"].find_one({"_id": "ke-1"}) == {
            "_id": "ke-1", "leg": "e", "quantity": "1",
        }  # fmt: skip
        assert (await db["risk_books"].find_one({"_id": "acct"}) or {})["equity"] == "2"
        views.put("bad$name", "x", {"a": 1})  # a collection Mongo refuses
        with pytest.raises(Exception):  # noqa: B017 - the server's own error
            await views.flush()
        assert views.pending == 1, "a failed write stays queued"
    finally:
        await client.close()


@pytest.mark.integration
async def test_a_reset_without_a_running_owner_is_left_as_a_request(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db = client[mongo_db]
    try:
        assert await request_reset(db, "acct", "admin", 0.3) == "not tripped"
        switch = KillSwitch(True, "max_drawdown", "down", 1, 0).to_doc()
        await db["risk_books"].insert_one({"_id": "acct", "kill_switch": switch})
        assert await request_reset(db, "acct", "admin", 0.3) == "requested"
        request = await db["risk_kill_switch_resets"].find_one({"_id": "acct"})
        assert request is not None and request["by"] == "admin" and request["reset_at"] > 0
    finally:
        await client.close()
