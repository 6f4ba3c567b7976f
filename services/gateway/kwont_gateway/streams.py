"""Live streams shared by the WebSocket routes and the GraphQL subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from kwont_gateway import backtests
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway

IDLE_S = 15.0


async def backtest_updates(
    gw: Gateway, principal: Principal, job_id: str
) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    """``("state", job)`` from Mongo first, then ``("progress", event)`` pushes, and last
    ``("result", summary)``; a job already finished yields its state and result at once.

    Raises:
        ApiError: 404 when the job is not the caller's (before anything is yielded).
    """
    async with gw.hub.subscription("backtest", job_id) as queue:  # before the read: no gap
        doc = await backtests.get_doc(gw, principal, job_id)
        yield "state", backtests.public(doc)
        if doc["status"] in backtests.TERMINAL:
            yield "result", await stored_summary(gw, doc)
            return
        while True:
            try:
                push = await asyncio.wait_for(queue.get(), timeout=IDLE_S)
            except TimeoutError:
                # no push for a while: the result may have been published before we
                # subscribed on another path; the stored state is the truth
                doc = await backtests.get_doc(gw, principal, job_id)
                if doc["status"] in backtests.TERMINAL:
                    yield "result", await stored_summary(gw, doc)
                    return
                continue
            if "status" in push.data:  # a BacktestResult
                yield "result", push.data
                return
            yield "progress", push.data


async def stored_summary(gw: Gateway, doc: dict[str, Any]) -> dict[str, Any]:
    """A BacktestResult-like summary of a finished job, from Mongo."""
    result = await gw.read.backtest_results.find_one(
        {"_id": doc["_id"], "owner": doc["owner"]},
        {"metrics": 1, "final_equity": 1, "trade_count": 1},
    )
    result = result or {}
    return {
        "job_id": doc["_id"],
        "status": doc["status"],
        "error": doc.get("error"),
        "metrics": result.get("metrics") or {},
        "final_equity": None if result.get("final_equity") is None else str(result["final_equity"]),
        "trade_count": int(result.get("trade_count") or 0),
        "from_cache": bool(doc.get("from_cache")),
        "runner": doc.get("runner"),
    }
