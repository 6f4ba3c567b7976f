"""A result stays small whatever its trade count: the trades are paged (REST and GraphQL)
from ``backtest_trades``, and responses are gzip-compressed."""

from __future__ import annotations

import gzip
import json
from typing import Any

import numpy as np
import pytest

from kwont_backtest_runner.results import result_document
from kwont_common import backtest_trades
from kwont_common.events import BacktestJob
from kwont_common.mongo import Database
from tests.services.gateway.factories import JAN_2024, Server, backtest_body, new_user, trade

pytestmark = pytest.mark.integration
API = "/api/v1"
N_TRADES = 16_700  # a one-year 1-minute sma_cross


async def stored_backtest(
    gateway: Server, db: Database, n_trades: int = N_TRADES
) -> tuple[str, dict[str, str], list[dict[str, Any]]]:
    """A succeeded backtest of a fresh user, stored as the runner stores it now."""
    user_id, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        job_id = (await c.post(f"{API}/backtests", json=backtest_body())).json()["job_id"]
    trades = [trade(i) for i in range(n_trades)]
    # stored by the runner's own functions, as its job handler does
    job = BacktestJob.model_validate((await db.backtests.find_one({"_id": job_id}))["job"])
    times = JAN_2024 + np.arange(10_000, dtype=np.int64) * 60_000
    result = {
        "metrics": {"sharpe": 1.5},
        "trades": trades,
        "final_equity": 10049.0,
        "equity_curve": {"open_time_ms": times, "equity": np.linspace(1e4, 10049, 10_000)},
    }
    await backtest_trades.store(db, job_id, user_id, trades)
    await db.backtest_results.insert_one(result_document(job, result, "c" * 64, 12, False))
    await db.backtests.update_one({"_id": job_id}, {"$set": {"status": "succeeded"}})
    return job_id, headers, trades


async def test_the_result_is_small_and_the_trades_page_through_every_trade(
    gateway: Server, db: Database
) -> None:
    job_id, headers, trades = await stored_backtest(gateway, db)
    async with gateway.client(headers) as c:
        r = await c.get(f"{API}/backtests/{job_id}/result", params={"points": 5})
        assert r.status_code == 200, r.text
        assert len(r.content) < 100_000, len(r.content)
        res = r.json()
        assert res["trade_count"] == N_TRADES and "trades" not in res
        assert res["links"]["trades"] == f"{API}/backtests/{job_id}/trades"

        sizes = {"result_bytes": len(r.content), "result_wire_bytes": r.num_bytes_downloaded}
        got, cursor, pages = [], None, 0
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = await c.get(f"{API}/backtests/{job_id}/trades", params=params)
            sizes.setdefault("page_bytes", len(response.content))
            sizes.setdefault("page_wire_bytes", response.num_bytes_downloaded)
            page = response.json()
            assert page["total"] == N_TRADES
            got += page["items"]
            pages += 1
            if (cursor := page["next_cursor"]) is None:
                break
        assert pages == 17 and got == trades
        print(json.dumps(sizes))  # httpx asks for gzip: wire bytes are compressed

        first = (await c.get(f"{API}/backtests/{job_id}/trades")).json()  # default limit 100
        assert first["items"] == trades[:100]
        middle = (
            await c.get(
                f"{API}/backtests/{job_id}/trades",
                params={"limit": 7, "cursor": first["next_cursor"]},
            )
        ).json()
        assert middle["items"] == trades[100:107]  # a page across no chunk boundary
        across = (
            await c.get(
                f"{API}/backtests/{job_id}/trades",
                params={"limit": 1000, "cursor": middle["next_cursor"]},
            )
        ).json()
        assert across["items"] == trades[107:1107]  # and one across a chunk boundary


async def test_bad_cursors_and_limits_are_refused_with_a_reason(
    gateway: Server, db: Database
) -> None:
    job_id, headers, _ = await stored_backtest(gateway, db, n_trades=30)
    other, other_headers, _ = await stored_backtest(gateway, db, n_trades=30)
    async with gateway.client(other_headers) as c:
        foreign = (await c.get(f"{API}/backtests/{other}/trades", params={"limit": 10})).json()
    url = f"{API}/backtests/{job_id}/trades"
    async with gateway.client(headers) as c:
        for cursor in ("not-a-cursor", "e30", foreign["next_cursor"]):
            r = await c.get(url, params={"cursor": cursor})
            assert r.status_code == 400, (cursor, r.text)
            error = r.json()["error"]
            assert error["code"] == "bad_cursor" and "next_cursor" in error["message"]
        for limit in (0, 1001):
            assert (await c.get(url, params={"limit": limit})).status_code == 422
        # another user's job is not found, like every other read
        assert (await c.get(f"{API}/backtests/{other}/trades")).status_code == 404
        queued = (await c.post(f"{API}/backtests", json=backtest_body())).json()["job_id"]
        r = await c.get(f"{API}/backtests/{queued}/trades")
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_ready"


async def test_responses_are_gzip_compressed(gateway: Server, db: Database) -> None:
    job_id, headers, _ = await stored_backtest(gateway, db, n_trades=2000)
    async with gateway.client(headers) as c:
        request = c.build_request(
            "GET", f"{API}/backtests/{job_id}/trades", params={"limit": 1000},
            headers={"Accept-Encoding": "gzip"},
        )  # fmt: skip
        r = await c.send(request, stream=True)
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
        await r.aclose()
    assert r.headers["content-encoding"] == "gzip"
    plain = gzip.decompress(raw)
    assert len(raw) * 4 < len(plain), (len(raw), len(plain))


async def test_graphql_pages_the_trades_of_a_backtest(gateway: Server, db: Database) -> None:
    job_id, headers, trades = await stored_backtest(gateway, db, n_trades=25)
    query = (
        "query($id: ID!, $cursor: String) { backtest(id: $id) { "
        "trades(limit: 10, cursor: $cursor) { items nextCursor total } } }"
    )
    got, cursor = [], None
    async with gateway.client(headers) as c:
        while True:
            variables = {"id": job_id, "cursor": cursor}
            r = await c.post("/graphql", json={"query": query, "variables": variables})
            body = r.json()
            assert "errors" not in body, body
            page = body["data"]["backtest"]["trades"]
            assert page["total"] == 25
            got += page["items"]
            if (cursor := page["nextCursor"]) is None:
                break
        assert got == trades
        r = await c.post(
            "/graphql", json={"query": query, "variables": {"id": job_id, "cursor": "junk"}}
        )
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "bad_cursor"
