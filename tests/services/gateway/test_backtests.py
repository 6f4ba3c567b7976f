"""Backtests over REST and /ws/backtests: validation, storage, the published job, results,
cancellation and the live stream."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from aiokafka import AIOKafkaConsumer

from kwont_common.events import BacktestJob, BacktestProgress, BacktestResult
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from tests.services.gateway.factories import Server, backtest_body, new_user, result_doc

pytestmark = pytest.mark.integration
API = "/api/v1"


async def published_job(server: Server, job_id: str) -> BacktestJob:
    s = server.settings
    consumer = AIOKafkaConsumer(
        f"{s.topic_prefix}backtest-jobs",
        bootstrap_servers=s.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            async for record in consumer:
                job = BacktestJob.model_validate_json(record.value or b"")
                if job.job_id == job_id:
                    assert record.key == job_id.encode()
                    return job
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")


async def test_a_submission_is_stored_queued_and_published(gateway: Server, db: Database) -> None:
    user_id, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        r = await c.post(f"{API}/backtests", json=backtest_body())
    assert r.status_code == 202, r.text
    body = r.json()
    job_id = body["job_id"]
    assert body["status"] == "queued" and body["ws_url"] == f"/ws/backtests/{job_id}"
    doc = await db.backtests.find_one({"_id": job_id})
    assert doc is not None and doc["owner"] == user_id and doc["status"] == "queued"
    assert doc["progress"] == {"stage": "queued", "fraction": 0.0} and doc["runner"] is None
    job = await published_job(gateway, job_id)
    assert job.owner == user_id and job.strategy.name == "sma_cross" and job.strategy.builtin
    assert job.params == {"fast": 5, "slow": 20} and job.symbols == ["BTCUSDT"]
    assert job.start_time == 1_704_067_200_000 and doc["job"]["job_id"] == job_id


async def test_margin_tiers_reach_the_published_job(gateway: Server) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        r = await c.post(f"{API}/backtests", json=backtest_body() | {"margin_tiers": True})
    assert r.status_code == 202, r.text
    job = await published_job(gateway, r.json()["job_id"])
    assert job.margin_tiers is True


async def test_funding_is_off_unless_asked_and_reaches_the_published_job(gateway: Server) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        plain = await c.post(f"{API}/backtests", json=backtest_body())
        on = await c.post(f"{API}/backtests", json=backtest_body() | {"funding": True})
    assert plain.status_code == on.status_code == 202, (plain.text, on.text)
    assert (await published_job(gateway, plain.json()["job_id"])).funding is False
    assert (await published_job(gateway, on.json()["job_id"])).funding is True


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"params": {"fast": 5, "slow": 100000}}, "'slow'"),
        ({"params": {"nope": 1}}, "nope"),
        ({"symbols": ["OLDUSDT"]}, "no 1h candles"),
        ({"start": "2020-01-01", "end": "2020-02-01"}, "no 1h candles"),
        ({"strategy": "no_such_thing"}, "not found"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2023-01-01"}, "end must be after start"),
        ({"symbols": None}, "either symbols or symbol_filter"),
    ],
)
async def test_an_invalid_submission_says_what_is_wrong(
    gateway: Server, change: dict[str, object], words: str
) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        r = await c.post(f"{API}/backtests", json=backtest_body(**change))
    assert r.status_code in (404, 422), r.text
    assert words in r.json()["error"]["message"]


async def test_a_symbol_filter_is_resolved_against_the_symbols_collection(
    gateway: Server, db: Database
) -> None:
    _, headers = await new_user(gateway)
    body = backtest_body(symbols=None, symbol_filter={"quote_asset": "usdt"})
    async with gateway.client(headers) as c:
        r = await c.post(f"{API}/backtests", json=body)
    assert r.status_code == 202, r.text
    doc = await db.backtests.find_one({"_id": r.json()["job_id"]})
    assert doc is not None and doc["job"]["symbols"] == ["BTCUSDT", "ETHUSDT"]


async def test_list_get_result_and_cancel(gateway: Server, db: Database) -> None:
    user_id, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        ids = [
            (await c.post(f"{API}/backtests", json=backtest_body())).json()["job_id"]
            for _ in range(3)
        ]
        page = (await c.get(f"{API}/backtests", params={"limit": 2})).json()
        assert page["total"] == 3 and [i["id"] for i in page["items"]] == ids[::-1][:2]
        assert (await c.get(f"{API}/backtests", params={"symbol": "ETHUSDT"})).json()["total"] == 0
        early = await c.get(f"{API}/backtests/{ids[0]}/result")
        assert early.status_code == 409 and early.json()["error"]["code"] == "not_ready"

        await db.backtests.update_one({"_id": ids[0]}, {"$set": {"status": "succeeded"}})
        await db.backtest_results.insert_one(result_doc(ids[0], user_id, n=50))
        res = (await c.get(f"{API}/backtests/{ids[0]}/result", params={"points": 10})).json()
        assert res["equity_points"] == 50 and len(res["equity"]) == 10
        assert res["equity"][0] == [1_704_067_200_000, 10_000] and res["equity"][-1][1] == 10_049
        assert res["trade_count"] == 1 and res["final_equity"] == "10049" and "trades" not in res
        page = (await c.get(f"{API}/backtests/{ids[0]}/trades")).json()  # a result stored
        assert page["total"] == 1 and page["next_cursor"] is None  # with its trades inline
        assert page["items"][0]["exit_reason"] == "signal"

        assert (await c.delete(f"{API}/backtests/{ids[1]}")).json()["status"] == "cancelled"
        await db.backtests.update_one({"_id": ids[2]}, {"$set": {"status": "running"}})
        assert (await c.delete(f"{API}/backtests/{ids[2]}")).json()["status"] == "cancelling"
        assert (await c.delete(f"{API}/backtests/{ids[0]}")).status_code == 409
        shown = (await c.get(f"{API}/backtests/{ids[2]}")).json()
        assert shown["status"] == "cancelling" and shown["links"]["ws"] == f"/ws/backtests/{ids[2]}"


async def test_the_backtest_socket_streams_state_progress_and_result(
    gateway: Server, producer: EventProducer
) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        job_id = (await c.post(f"{API}/backtests", json=backtest_body())).json()["job_id"]
    url = f"{gateway.ws_url}/ws/backtests/{job_id}"
    async with websockets.connect(url, additional_headers=headers) as ws:
        state = json.loads(await ws.recv())
        assert state["type"] == "state" and state["data"]["status"] == "queued"
        base = {"event_time": 1, "source": "test", "job_id": job_id}
        await producer.publish(BacktestProgress(**base, stage="running", fraction=0.5))
        progress = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert progress == {"type": "progress", "data": progress["data"]}
        assert progress["data"]["fraction"] == 0.5
        await producer.publish(BacktestResult(**base, status="succeeded", metrics={"sharpe": 2.0}))
        result = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert result["type"] == "result" and result["data"]["metrics"] == {"sharpe": 2.0}
        with pytest.raises(websockets.ConnectionClosedOK):
            await asyncio.wait_for(ws.recv(), 10)
