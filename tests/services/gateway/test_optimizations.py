"""Grid searches: expansion, shards as jobs, progress and the merged ranking."""

from __future__ import annotations

from typing import Any

import pytest

from kwont_common.mongo import Database
from tests.services.gateway.factories import Server, backtest_body, new_user

pytestmark = pytest.mark.integration
API = "/api/v1"


def grid_body(**over: Any) -> dict[str, Any]:
    body = backtest_body(params={})
    body.update(grid={"fast": {"start": 2, "stop": 9, "step": 1}, "slow": "20:60:5"})
    body.update(over)
    return body


async def test_a_grid_is_sharded_into_jobs_and_ranked(gateway: Server, db: Database) -> None:
    user_id, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        r = await c.post(f"{API}/optimizations", json=grid_body())
        assert r.status_code == 202, r.text
        acc = r.json()
        assert acc["combinations"] == 8 * 9 and acc["shards_total"] == 3  # 30 + 30 + 12
        shards = [d async for d in db.backtests.find({"_id": {"$in": acc["job_ids"]}})]
        assert sorted(len(d["job"]["param_sets"]) for d in shards) == [12, 30, 30]
        assert all(d["job"]["kind"] == "optimization_shard" for d in shards)
        assert (await c.get(f"{API}/backtests")).json()["total"] == 0  # shards are not listed

        first, second = acc["job_ids"][:2]
        for job_id, rows in (
            (first, [{"params": {"fast": 2, "slow": 20}, "score": 0.5, "metrics": {}}]),
            (second, [{"params": {"fast": 3, "slow": 20}, "score": 1.5, "metrics": {}},
                      {"params": {"fast": 4, "slow": 20}, "score": None, "metrics": {}}]),
        ):  # fmt: skip
            await db.backtests.update_one({"_id": job_id}, {"$set": {"status": "succeeded"}})
            await db.backtest_results.insert_one({"_id": job_id, "owner": user_id, "ranking": rows})
        shown = (await c.get(f"{API}/optimizations/{acc['optimization_id']}")).json()
        assert shown["status"] == "running" and shown["shards_done"] == 2
        assert [row["score"] for row in shown["ranking"]] == [1.5, 0.5, None]
        cancelled = (await c.delete(f"{API}/optimizations/{acc['optimization_id']}")).json()
        assert cancelled["status"] == "succeeded" and cancelled["shards_done"] == 3


async def test_an_invalid_grid_names_the_parameter(gateway: Server) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        r = await c.post(f"{API}/optimizations", json=grid_body(grid={"nope": [1, 2]}))
        assert r.status_code == 422 and "nope" in r.json()["error"]["message"]
        r = await c.post(f"{API}/optimizations", json=grid_body(grid={"fast": "1:100000:1"}))
        assert r.status_code == 422 and "grid" in r.json()["error"]["message"]
