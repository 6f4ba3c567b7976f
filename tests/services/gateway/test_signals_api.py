"""``/signals`` and ``/risk-rejections``: your own only, newest first, filtered and paged."""

from __future__ import annotations

import uuid

import pytest

from kwont_common.events import Signal
from kwont_common.mongo import Database
from kwont_common.trading.ids import event_id, signal_id
from kwont_strategy.signals import record
from tests.services.gateway.factories import Server, new_user

pytestmark = pytest.mark.integration
API = "/api/v1"
T0 = 1_704_067_200_000


def signal(dep: str, account: str, symbol: str, minute: int, action: str = "enter_long") -> Signal:
    open_time = T0 + minute * 60_000
    ident = signal_id(dep, symbol, "1m", open_time)
    return Signal(
        event_id=ident, correlation_id=ident, event_time=open_time + 59_999, source="strategy",
        account=account, symbol=symbol, deployment_id=dep, strategy="sma_cross", interval="1m",
        action=action, candle_open_time=open_time, reference_price=100.0 + minute,
        stop_loss=95.0, stop_loss_pct=0.05,
    )  # fmt: skip


def rejection(owner: str, s: Signal, code: str) -> dict[str, object]:
    """A refusal as the risk service stores it."""
    return {
        "_id": str(event_id("rejection", s.event_id)), "account": s.account, "symbol": s.symbol,
        "code": code, "reason": f"{code} reached", "signal_id": str(s.event_id),
        "correlation_id": str(s.correlation_id), "deployment_id": s.deployment_id,
        "event_time": s.event_time, "owner": owner,
    }  # fmt: skip


async def test_signals_are_the_callers_newest_first_filtered_and_paged(
    gateway: Server, db: Database
) -> None:
    owner_id, owner = await new_user(gateway)
    other_id, other = await new_user(gateway)
    acct, acct2 = f"a-{uuid.uuid4().hex[:6]}", f"b-{uuid.uuid4().hex[:6]}"
    dep1, dep2 = f"dep_{uuid.uuid4().hex[:8]}", f"dep_{uuid.uuid4().hex[:8]}"
    mine = [
        signal(dep1, acct, "BTCUSDT", 1),
        signal(dep1, acct, "BTCUSDT", 5, "exit"),
        signal(dep2, acct2, "ETHUSDT", 3, "enter_short"),
        signal(dep2, acct2, "ETHUSDT", 5),
    ]
    for s in mine:  # stored by the strategy service's own writer
        await record(db, s, owner_id)
    await record(db, signal(f"dep_{uuid.uuid4().hex[:8]}", acct, "BTCUSDT", 9), other_id)

    async with gateway.client(owner) as c:
        r = await c.get(f"{API}/signals")
        assert r.status_code == 200, r.text
        got = r.json()
        assert [g["candle_open_time"] for g in got] == [T0 + m * 60_000 for m in (5, 5, 3, 1)]
        assert {g["event_id"] for g in got} == {str(s.event_id) for s in mine}
        first = next(g for g in got if g["event_id"] == str(mine[0].event_id))
        assert first["correlation_id"] == first["event_id"] and first["stop_loss_pct"] == 0.05
        assert "owner" not in first and "_id" not in first
        by_dep = (await c.get(f"{API}/signals", params={"deployment": dep2})).json()
        assert [g["action"] for g in by_dep] == ["enter_long", "enter_short"]
        by_acct = (await c.get(f"{API}/signals", params={"account": acct})).json()
        assert [g["action"] for g in by_acct] == ["exit", "enter_long"]
        eth = (await c.get(f"{API}/signals", params={"symbol": "ethusdt"})).json()
        assert {g["symbol"] for g in eth} == {"ETHUSDT"} and len(eth) == 2
        since = (await c.get(f"{API}/signals", params={"since": T0 + 3 * 60_000})).json()
        assert len(since) == 3
        pages = [
            (await c.get(f"{API}/signals", params={"limit": 2, "offset": o})).json() for o in (0, 2)
        ]
        assert [g["event_id"] for p in pages for g in p] == [g["event_id"] for g in got]
        bad = await c.get(f"{API}/signals", params={"limit": 0})
        assert bad.status_code == 422 and "limit" in bad.json()["error"]["message"]
    async with gateway.client(other) as c:
        theirs = (await c.get(f"{API}/signals", params={"account": acct})).json()
        assert [g["candle_open_time"] for g in theirs] == [T0 + 9 * 60_000]
        assert (await c.get(f"{API}/signals", params={"deployment": dep1})).json() == []
    async with gateway.client() as c:
        assert (await c.get(f"{API}/signals")).status_code == 401


async def test_risk_rejections_are_the_callers_newest_first(gateway: Server, db: Database) -> None:
    owner_id, owner = await new_user(gateway)
    _, other = await new_user(gateway)
    acct, dep = f"r-{uuid.uuid4().hex[:6]}", f"dep_{uuid.uuid4().hex[:8]}"
    early, late = signal(dep, acct, "BTCUSDT", 1), signal(dep, acct, "ETHUSDT", 2)
    await db.risk_rejections.insert_many(
        [rejection(owner_id, early, "max_open_positions"), rejection(owner_id, late, "cooldown")]
    )
    async with gateway.client(owner) as c:
        got = (await c.get(f"{API}/risk-rejections")).json()
        assert [g["code"] for g in got] == ["cooldown", "max_open_positions"]
        assert got[0]["signal_id"] == str(late.event_id) and got[0]["reason"] == "cooldown reached"
        assert got[0]["event_id"] == str(event_id("rejection", late.event_id))
        one = await c.get(f"{API}/risk-rejections", params={"signal": str(early.event_id)})
        assert [g["code"] for g in one.json()] == ["max_open_positions"]
        eth = (await c.get(f"{API}/risk-rejections", params={"symbol": "ETHUSDT"})).json()
        assert [g["code"] for g in eth] == ["cooldown"]
        assert len((await c.get(f"{API}/risk-rejections", params={"limit": 1})).json()) == 1
        too_far = await c.get(f"{API}/risk-rejections", params={"offset": -1})
        assert too_far.status_code == 422
    async with gateway.client(other) as c:
        assert (await c.get(f"{API}/risk-rejections", params={"account": acct})).json() == []
