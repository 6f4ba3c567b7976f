"""GraphQL: queries, mutations and a subscription through the real gql client over
graphql-transport-ws; batched reads; limits; the same ownership rules as REST."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from pymongo import monitoring

from kwont_common.events import BacktestProgress, BacktestResult
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from tests.services.gateway.factories import Server, backtest_body, new_user, result_doc

pytestmark = pytest.mark.integration


class CommandCounter(monitoring.CommandListener):
    """Counts the database commands of every pymongo client created after registration."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []
        self.on = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on:
            self.commands.append((event.command_name, event.database_name))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COUNTER = CommandCounter()
monitoring.register(COUNTER)  # at import: before the session's gateway creates its client


async def gql_post(
    server: Server, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    async with server.client(headers) as c:
        r = await c.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_mutations_and_queries_share_the_rest_functions(gateway: Server) -> None:
    _, headers = await new_user(gateway)
    created = await gql_post(
        gateway,
        headers,
        'mutation { createStrategy(name: "g", code: "x = 1") { id name checkStatus } }',
    )
    strategy = created["data"]["createStrategy"]
    assert strategy["checkStatus"] == "pending"
    submit = (
        "mutation($input: BacktestInput!) { submitBacktest(input: $input) { jobId status wsUrl } }"
    )
    body = backtest_body()
    body["end"] = str(body["end"])
    accepted = (await gql_post(gateway, headers, submit, input=body))["data"]["submitBacktest"]
    assert accepted["status"] == "queued"
    bad = await gql_post(gateway, headers, submit, input={**body, "params": {"slow": 10**6}})
    assert bad["errors"][0]["extensions"]["code"] == "invalid_request"
    assert "'slow'" in bad["errors"][0]["message"]
    listed = await gql_post(
        gateway, headers, "{ backtests { id status strategy { name builtin } } strategies { id } }"
    )
    assert listed["data"]["backtests"][0]["id"] == accepted["jobId"]
    assert listed["data"]["backtests"][0]["strategy"] == {"name": "sma_cross", "builtin": True}
    assert strategy["id"] in [s["id"] for s in listed["data"]["strategies"]]
    symbols = await gql_post(
        gateway, headers, '{ symbols(filter: {quoteAsset: "BTC"}) { symbol } }'
    )
    assert symbols["data"]["symbols"] == [{"symbol": "ETHBTC"}]


async def test_submit_backtest_takes_the_funding_switch(gateway: Server, db: Database) -> None:
    _, headers = await new_user(gateway)
    submit = "mutation($input: BacktestInput!) { submitBacktest(input: $input) { jobId } }"
    body = backtest_body()
    body["end"] = str(body["end"])
    ids = [
        (await gql_post(gateway, headers, submit, input=body | extra))["data"]["submitBacktest"][
            "jobId"
        ]
        for extra in ({}, {"funding": True})
    ]
    stored = [await db.backtests.find_one({"_id": i}) for i in ids]
    assert [d["job"]["funding"] for d in stored if d] == [False, True]


async def test_a_list_of_100_backtests_costs_a_bounded_number_of_reads(
    gateway: Server, db: Database
) -> None:
    user_id, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        strategy = (await c.post("/api/v1/strategies", json={"name": "s", "code": "x = 1"})).json()
        job = (await c.post("/api/v1/backtests", json=backtest_body())).json()["job_id"]
    template = await db.backtests.find_one({"_id": job})
    assert template is not None
    docs, results = [], []
    for i in range(100):
        doc = dict(template, _id=f"bt_many_{user_id}_{i}", status="succeeded")
        if i % 2:
            doc["job"] = {
                **doc["job"],
                "strategy": {"name": strategy["id"], "builtin": False, "version": 1},
            }
        docs.append(doc)
        results.append(result_doc(doc["_id"], user_id, n=6))
    await db.backtests.insert_many(docs)
    await db.backtest_results.insert_many(results)
    query = (
        '{ backtests(limit: 100, status: "succeeded") '
        "{ id result { metrics tradeCount } strategy { name } } }"
    )
    COUNTER.commands.clear()
    COUNTER.on = True
    data = await gql_post(gateway, headers, query)
    COUNTER.on = False
    rows = data["data"]["backtests"]
    assert len(rows) == 100 and all(r["result"]["tradeCount"] == 1 for r in rows)
    assert {r["strategy"]["name"] for r in rows} == {"sma_cross", "s"}
    reads = [
        name for name, database in COUNTER.commands if database == gateway.settings.mongo_database
    ]
    # one for the list, one batched read of results, one of strategies, whatever the count
    assert sorted(reads) == ["find", "find", "find"], COUNTER.commands


async def test_the_backtest_progress_subscription_over_graphql_transport_ws(
    gateway: Server, producer: EventProducer
) -> None:
    _, headers = await new_user(gateway)
    async with gateway.client(headers) as c:
        job_id = (await c.post("/api/v1/backtests", json=backtest_body())).json()["job_id"]
    transport = WebsocketsTransport(
        url=f"{gateway.ws_url}/graphql",
        headers=headers,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws
    )
    subscription = gql(
        "subscription($id: ID!) {"
        " backtestProgress(id: $id) { kind status stage fraction metrics } }"
    )
    subscription.variable_values = {"id": job_id}
    seen: list[dict[str, Any]] = []
    got_state, got_progress = asyncio.Event(), asyncio.Event()

    async def feed() -> None:
        await got_state.wait()
        base = {"event_time": 1, "source": "test", "job_id": job_id}
        for fraction in (0.25, 0.75):
            await producer.publish(BacktestProgress(**base, stage="running", fraction=fraction))
        # progress and results are different topics, with no order between them: as a
        # runner does, publish the result once the progress has gone out
        await got_progress.wait()
        await producer.publish(BacktestResult(**base, status="succeeded", metrics={"sharpe": 1.25}))

    async with Client(transport=transport) as session:
        feeder = asyncio.create_task(feed())
        async with asyncio.timeout(20):
            async for message in session.subscribe(subscription):
                seen.append(message["backtestProgress"])
                got_state.set()
                if len(seen) == 3:
                    got_progress.set()
        await feeder
    assert [m["kind"] for m in seen] == ["state", "progress", "progress", "result"], seen
    assert seen[0]["status"] == "queued" and [m["fraction"] for m in seen[1:3]] == [0.25, 0.75]
    assert seen[-1]["status"] == "succeeded" and seen[-1]["metrics"] == {"sharpe": 1.25}


async def test_graphql_follows_the_ownership_rules(gateway: Server) -> None:
    _, owner = await new_user(gateway)
    _, intruder = await new_user(gateway)
    async with gateway.client(owner) as c:
        job_id = (await c.post("/api/v1/backtests", json=backtest_body())).json()["job_id"]
        st = (await c.post("/api/v1/strategies", json={"name": "m", "code": "x"})).json()["id"]
    for query in (
        f'{{ backtest(id: "{job_id}") {{ id }} }}',
        f'mutation {{ cancelBacktest(id: "{job_id}") {{ id }} }}',
        f'mutation {{ updateStrategy(id: "{st}", code: "y") {{ id }} }}',
    ):
        reply = await gql_post(gateway, intruder, query)
        assert reply["errors"][0]["extensions"]["code"] == "not_found", query
    listed = await gql_post(gateway, intruder, "{ backtests { id } }")
    assert listed["data"]["backtests"] == []
    transport = WebsocketsTransport(
        url=f"{gateway.ws_url}/graphql",
        headers=intruder,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError, match="not found"):
            async for _ in session.subscribe(
                gql(f'subscription {{ backtestProgress(id: "{job_id}") {{ kind }} }}')
            ):
                pass


async def test_deep_or_wide_queries_are_refused(gateway: Server) -> None:
    _, headers = await new_user(gateway)
    deep = "{ backtests { strategy { name } result { metrics } } }"
    assert "errors" not in await gql_post(gateway, headers, deep)
    nested = "{ __schema { types { fields { type { fields { type { fields { type { name }"
    nested += " } } } } } } } }"
    reply = await gql_post(gateway, headers, nested)
    assert "depth" in reply["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: strategies {{ id }}" for i in range(20)) + " }"
    assert "aliases" in (await gql_post(gateway, headers, aliases))["errors"][0]["message"]
