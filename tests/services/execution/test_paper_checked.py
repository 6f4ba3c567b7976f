"""The paper venue's in-memory checked-through marks: a mark applies only to the position
version it was seen at, each changed mark is handed out for writing once, and the write
(on SecantusDB) only moves a stored mark forward at that version."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from kwont_devstack.mongo_users import MongoEndpoint
from kwont_execution.paper_checked import Checked
from kwont_execution.paper_position import Position
from kwont_execution.store import PositionStore, Slot


def slot(version: int, checked_through: int = 100) -> Slot:
    position = Position(
        account="a", symbol="BTCUSDT", side=1, quantity=Decimal(1), entry_price=Decimal(10),
        stop_loss=9.0, take_profit=None, liquidation=0.0, interval="1m",
        checked_through=checked_through, correlation_id=uuid.uuid4(), entry_order="e",
        sl_order="sl", tp_order="tp",
    )  # fmt: skip
    return Slot("a:BTCUSDT", version, position)


def checked_through(s: Slot) -> int:
    assert s.position is not None
    return s.position.checked_through


def test_a_mark_applies_to_its_version_only_and_never_moves_back() -> None:
    marks = Checked()
    marks.see(slot(3), 400)
    assert checked_through(marks.apply(slot(3))) == 400
    assert checked_through(marks.apply(slot(4))) == 100  # another position state
    assert checked_through(marks.apply(slot(3, checked_through=500))) == 500
    marks.see(slot(3), 200)  # older: ignored
    assert checked_through(marks.apply(slot(3))) == 400
    assert marks.apply(Slot("a:BTCUSDT", 3, None)).position is None


def test_take_hands_out_each_changed_mark_once() -> None:
    marks = Checked()
    marks.see(slot(3), 400)
    assert marks.take() == {"a:BTCUSDT": (3, 400)}
    assert marks.take() == {}
    marks.see(slot(3), 400)  # no change
    assert marks.take() == {}
    marks.see(slot(5), 300)  # a new version
    assert marks.take() == {"a:BTCUSDT": (5, 300)}


@pytest.mark.integration
async def test_advance_writes_a_mark_only_at_its_version_and_only_forwards(
    mongo: MongoEndpoint, mongo_db: str
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    store = PositionStore(client[mongo_db])
    try:
        assert await store.commit(Slot("a:BTCUSDT", 0, None), slot(0).position)
        await store.advance({"a:BTCUSDT": (1, 400)})
        assert checked_through(await store.load("a", "BTCUSDT")) == 400
        await store.advance({"a:BTCUSDT": (1, 300)})  # behind the stored mark
        await store.advance({"a:BTCUSDT": (2, 900)})  # a version that is not stored
        loaded = await store.load("a", "BTCUSDT")
        assert checked_through(loaded) == 400 and loaded.version == 1
    finally:
        await client.close()


def test_the_entry_an_exit_closed_is_the_order_transition_just_before_it() -> None:
    applied = [{"id": f"x|{i}", "key": k} for i, k in enumerate(
        ["order:e1", "candle:1m:60000", "order:e2", "order:x2", "candle:1m:180000"]
    )]  # fmt: skip
    s = Slot("a:BTCUSDT", 5, None, applied)
    assert s.opened_by("candle:1m:60000") == "e1"
    assert s.opened_by("order:x2") == "e2"
    assert s.opened_by("order:e2") is None  # before it: a candle (an exit), no entry
    assert s.opened_by("order:e1") is None  # the first remembered
    assert s.opened_by("candle:1m:120000") is None  # not a transition of this document
