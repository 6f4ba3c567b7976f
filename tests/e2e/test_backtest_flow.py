"""Backtests as a service, end to end on the real engines: gateway -> backtest-jobs ->
backtest-runner -> Docker sandbox (read-only Mongo) -> results, with progress over the
WebSocket; the result's trades equal the `kwont backtest` CLI's on the same candles."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets

from kwont_backtest_runner.main import setup as runner_setup
from kwont_backtest_runner.settings import BacktestRunnerSettings
from kwont_common.kafka.admin import ensure_topics
from kwont_common.mongo import Mongo
from kwont_common.service import serve
from kwont_devstack.mongo_users import APP_USER, READONLY_USER, MongoEndpoint, client
from kwont_gateway.main import setup as gateway_setup
from kwont_gateway.settings import GatewaySettings
from kwont_gateway.users import ensure_admin
from kwont_marketdata import load, store

pytestmark = pytest.mark.e2e
START = 1_704_067_200_000  # 2024-01-01
DAYS = 365
END = START + DAYS * 86_400_000
API = "/api/v1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Platform:
    base_url: str
    headers: dict[str, str]
    market_db: str
    settings: GatewaySettings


@pytest.fixture(scope="module")
async def platform(
    kafka_bootstrap: str, mongo: MongoEndpoint, redis_url: str, docker_engine: str,
    sandbox_image: str, tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Platform]:  # fmt: skip
    tag = uuid.uuid4().hex[:8]
    kwont_db, market_db = f"e2e_kwont_{tag}", f"e2e_ohlcv_{tag}"
    with client(mongo.admin_uri) as admin:
        for name in (kwont_db, market_db):
            admin.admin.command(
                "grantRolesToUser", APP_USER, roles=[{"role": "readWrite", "db": name}]
            )
        admin.admin.command(
            "grantRolesToUser", READONLY_USER, roles=[{"role": "read", "db": market_db}]
        )
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap, "kafka_idempotence": False,
        "topic_prefix": f"e2e{tag}.", "topic_partitions": 2, "mongo_uri": mongo.app_uri,
        "mongo_readonly_uri": mongo.readonly_uri, "mongo_database": kwont_db,
        "mongo_market_database": market_db, "redis_url": redis_url, "metrics_port": 0,
        "log_json": False,
    }  # fmt: skip
    gw = GatewaySettings(service_name="gateway", http_port=_free_port(),
                         run_dir=tmp_path_factory.mktemp("e2e-run"), **common)  # fmt: skip
    runner = BacktestRunnerSettings(
        service_name="backtest-runner", docker_url=docker_engine, sandbox_image=sandbox_image,
        sandbox_network=f"kwont-e2e-{tag[:6]}", sandbox_bridge=f"kwe2e{tag[:6]}",
        sandbox_relay_port=_free_port(), sandbox_network_cleanup=True, **common,
    )  # fmt: skip
    m = Mongo.connect(gw)
    await store.ensure_indexes(m.market_write)
    await load.load_synthetic(m.market_write, {"BTCUSDT": 42_000.0}, START, DAYS, "1m", seed=11)
    await m.write.symbols.insert_one(
        {"_id": "BTCUSDT", "symbol": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT",
         "status": "TRADING"}
    )  # fmt: skip
    await ensure_admin(m.write, "e2e-admin-password", gw.run_dir)
    await m.close()
    await ensure_topics(gw)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(serve(gw, gateway_setup, stop)),
             asyncio.create_task(serve(runner, runner_setup, stop))]  # fmt: skip
    base = f"http://127.0.0.1:{gw.http_port}"
    async with httpx.AsyncClient(base_url=base) as c:
        for _ in range(300):
            assert not any(t.done() for t in tasks), [t.result() for t in tasks if t.done()]
            try:
                if (await c.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        login = {"username": "admin", "password": "e2e-admin-password"}
        token = (await c.post(f"{API}/auth/token", data=login)).json()["access_token"]
    try:
        yield Platform(base, {"Authorization": f"Bearer {token}"}, market_db, gw)
    finally:
        stop.set()
        assert await asyncio.gather(*tasks) == [0, 0]


def body(**kw: Any) -> dict[str, Any]:
    return {
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbols": ["BTCUSDT"],
        "interval": "1m", "start": START, "end": END, "cash": 10_000, "fee_bps": 10, **kw,
    }  # fmt: skip


async def follow(p: Platform, job_id: str) -> list[dict[str, Any]]:
    url = p.base_url.replace("http", "ws") + f"/ws/backtests/{job_id}"
    messages = []
    async with websockets.connect(url, additional_headers=p.headers) as ws:
        async with asyncio.timeout(120):
            async for raw in ws:
                messages.append(json.loads(raw))
                if messages[-1]["type"] == "result":
                    break
    return messages


async def candles_csv(p: Platform, start: int, end: int, path: Path) -> Path:
    """The stored BTCUSDT candles of ``[start, end)`` as the headed CSV `kwont` reads."""
    m = Mongo.connect(p.settings)
    columns = await store.read_range(m.market_read, "BTCUSDT", "1m", start, end)
    await m.close()
    assert len(columns["open_time"]) == (end - start) // 60_000, "candles missing"
    names = ("open_time", "open", "high", "low", "close", "volume")
    table = np.column_stack([columns[c] for c in names])
    np.savetxt(path, table, delimiter=",", header="timestamp,open,high,low,close,volume",
               comments="", fmt="%.17g")  # fmt: skip
    return path


def kwont_cli(*args: str) -> dict[str, Any]:
    """The `kwont` console script's --json document."""
    out = subprocess.run(
        [str(Path(sys.executable).with_name("kwont")), *args, "--cash", "10000",
         "--fee-bps", "10", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


async def test_one_year_backtest_through_the_gateway_matches_the_cli(
    platform: Platform, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, headers=platform.headers) as c:
        answer = await c.post(f"{API}/backtests", json=body())
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        messages = await follow(platform, job_id)
        result = (await c.get(f"{API}/backtests/{job_id}/result")).json()
        state = (await c.get(f"{API}/backtests/{job_id}")).json()
        trades, cursor = [], None
        while True:  # the trades are paged, 1,000 at a time
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = (await c.get(f"{API}/backtests/{job_id}/trades", params=params)).json()
            trades += page["items"]
            if (cursor := page["next_cursor"]) is None:
                break
        assert page["total"] == result["trade_count"] == len(trades)
        small = await c.get(f"{API}/backtests/{job_id}/result", params={"points": 5})
        assert len(small.content) < 100_000, len(small.content)  # was 6.2 MB with the trades
        print(json.dumps({"trades": len(trades), "result_points_5_bytes": len(small.content),
                          "full_result_bytes": len(json.dumps(result))}))  # fmt: skip

    kinds = [m["type"] for m in messages]
    assert kinds[0] == "state" and kinds[-1] == "result" and "progress" in kinds
    fractions = [m["data"]["fraction"] for m in messages if m["type"] == "progress"]
    assert fractions == sorted(fractions) and len(fractions) >= 3
    assert messages[-1]["data"]["status"] == "succeeded"
    assert state["status"] == "succeeded" and state["error"] is None

    csv = await candles_csv(platform, START, END, tmp_path / "BTCUSDT-1m.csv")
    expected = kwont_cli("backtest", "--strategy", "sma_cross", "--param", "fast=10",
                         "--param", "slow=30", "--data", str(csv))  # fmt: skip
    fields = ("side", "entry_time", "entry_price", "exit_time", "exit_price", "qty", "fees",
              "pnl", "exit_reason")  # fmt: skip
    got = [{k: t[k] for k in fields} for t in trades]
    want = [{k: t[k] for k in fields} for t in expected["trades"]]
    assert len(want) > 1000
    assert got == want
    assert float(result["final_equity"]) == pytest.approx(expected["final_equity"], abs=1e-8)
    mc, want_mc = result["monte_carlo"], expected["monte_carlo"]  # same trades, same seed
    assert (mc["paths"], mc["seed"], mc["trades"]) == (want_mc["paths"], 0, want_mc["trades"])
    for kind in ("permutation", "bootstrap"):
        assert mc[kind] == pytest.approx(want_mc[kind], rel=1e-9)


async def test_identical_resubmission_is_answered_from_the_cache(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, headers=platform.headers) as c:
        params = {"fast": 12, "slow": 40}
        first = (await c.post(f"{API}/backtests", json=body(params=params))).json()["job_id"]
        await follow(platform, first)
        second = (await c.post(f"{API}/backtests", json=body(params=params))).json()["job_id"]
        messages = await follow(platform, second)
        state = (await c.get(f"{API}/backtests/{second}")).json()
    assert messages[-1]["data"]["from_cache"] is True and state["from_cache"] is True


async def test_a_90_combination_grid_ranks_like_kwont_optimize(
    platform: Platform, tmp_path: Path
) -> None:
    span = 30 * 86_400_000  # a month keeps the 90 runs quick; the ranking logic is the same
    request = {
        "strategy": "sma_cross", "grid": {"fast": "5:50:5", "slow": "20:200:20"},
        "objective": "sharpe", "symbols": ["BTCUSDT"], "interval": "1m", "start": START,
        "end": START + span, "cash": 10_000, "fee_bps": 10,
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=platform.base_url, headers=platform.headers) as c:
        answer = await c.post(f"{API}/optimizations", json=request)
        assert answer.status_code == 202, answer.text
        opt_id = answer.json()["optimization_id"]
        async with asyncio.timeout(180):
            while (shown := (await c.get(f"{API}/optimizations/{opt_id}")).json())["status"] in (
                "queued",
                "running",
            ):
                await asyncio.sleep(0.5)
    assert shown["status"] == "succeeded", shown
    assert shown["combinations"] >= 90 and shown["shards_total"] >= 2
    assert len(shown["ranking"]) == shown["combinations"]

    csv = await candles_csv(platform, START, START + span, tmp_path / "month.csv")
    cli = kwont_cli("optimize", "--strategy", "sma_cross", "--grid", "fast=5:50:5", "--grid",
                    "slow=20:200:20", "--data", str(csv), "--objective", "sharpe")  # fmt: skip
    assert len(cli["evaluations"]) == shown["combinations"]
    assert shown["ranking"][0]["params"] == cli["best"]["params"]
    assert shown["ranking"][0]["score"] == pytest.approx(cli["best"]["score"], rel=1e-12)
    # The guards from the shards' stored moments are those of the search in one process.
    assert shown["guards"]["n_trials"] == cli["guards"]["n_trials"] == shown["combinations"]
    assert shown["guards"] == pytest.approx(cli["guards"], rel=1e-9)


async def test_walk_forward_through_the_gateway_matches_kwont_optimize(
    platform: Platform, tmp_path: Path
) -> None:
    span = 20 * 86_400_000
    request = {
        "strategy": "sma_cross", "grid": {"fast": "5:25:5", "slow": "30:90:30"},
        "objective": "sharpe", "symbols": ["BTCUSDT"], "interval": "1m", "start": START,
        "end": START + span, "cash": 10_000, "fee_bps": 10,
        "walk_forward": {"windows": 3, "train_fraction": 0.7},
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=platform.base_url, headers=platform.headers) as c:
        answer = await c.post(f"{API}/optimizations", json=request)
        assert answer.status_code == 202, answer.text
        opt_id = answer.json()["optimization_id"]
        async with asyncio.timeout(180):
            while True:
                shown = (await c.get(f"{API}/optimizations/{opt_id}")).json()
                if shown["walk_forward"]["status"] in ("succeeded", "failed"):
                    break
                await asyncio.sleep(0.5)
    walk = shown["walk_forward"]
    assert walk["status"] == "succeeded", walk["error"]
    report = walk["report"]
    assert len(report["windows"]) == 3

    csv = await candles_csv(platform, START, START + span, tmp_path / "span.csv")
    cli = kwont_cli("optimize", "--strategy", "sma_cross", "--grid", "fast=5:25:5", "--grid",
                    "slow=30:90:30", "--data", str(csv), "--objective", "sharpe",
                    "--walk-forward", "3", "--in-sample", "0.7")  # fmt: skip
    assert [w["params"] for w in report["windows"]] == [w["params"] for w in cli["windows"]]
    assert [w["out_of_sample_score"] for w in report["windows"]] == pytest.approx(
        [w["out_of_sample_score"] for w in cli["windows"]], rel=1e-12
    )
