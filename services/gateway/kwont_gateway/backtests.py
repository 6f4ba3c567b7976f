"""Backtest jobs: submit, list, show, result, trades, cancel (collections ``backtests``,
``backtest_results`` and ``backtest_trades``). Every read and write is filtered by owner:
another user's job is "not found"."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import numpy as np

from kwont_common import backtest_trades
from kwont_common.backtest_cache import ResultCache, alias_document, content_hash, still_stored
from kwont_common.events import BacktestJob, BacktestResult, now_ms
from kwont_common.storepub import store_then_publish
from kwont_gateway import jobspec, paging, quotas
from kwont_gateway.errors import ApiError, owned
from kwont_gateway.models.backtests import BacktestCreate
from kwont_gateway.principal import Principal
from kwont_gateway.security import new_id
from kwont_gateway.state import Gateway
from kwont_gateway.users import now
from kwont_quant import ENGINE_VERSION

TERMINAL = ("succeeded", "failed", "cancelled")
API = "/api/v1"


def links(job_id: str) -> dict[str, str]:
    """The API paths of a backtest job: itself, its result, its trades and its WebSocket."""
    base = f"{API}/backtests/{job_id}"
    return {"self": base, "result": f"{base}/result", "trades": f"{base}/trades",
            "ws": f"/ws/backtests/{job_id}"}  # fmt: skip


def new_doc(job_id: str, owner: str, job: dict[str, Any], kind: str = "backtest") -> dict[str, Any]:
    """The backtests document of a just-submitted job, queued at fraction 0."""
    return {
        "_id": job_id,
        "owner": owner,
        "kind": kind,
        "status": "queued",
        "progress": {"stage": "queued", "fraction": 0.0},
        "job": job,
        "submitted_at": now(),
        "started_at": None,
        "finished_at": None,
        "error": None,
        "runner": None,
        "from_cache": False,
    }


async def submit(gw: Gateway, principal: Principal, body: BacktestCreate) -> dict[str, Any]:
    """Validate, store (``queued``) and publish a backtest; the 202 answer.

    Raises:
        ApiError: 404 foreign strategy; 422 invalid params, symbols, period or no candles;
            429 the caller's queued-jobs quota is full.
    """
    resolved = await jobspec.resolve(gw, principal, body)
    job_id = new_id("bt")
    job = jobspec.build_job(body, resolved, job_id=job_id, owner=principal.user_id)
    doc = new_doc(job_id, principal.user_id, job.model_dump(mode="json"))
    alias = await _cached_result(gw, job)
    if alias is None:
        await quotas.admit(gw, principal)  # a cache hit needs no runner: never refused
        await store_then_publish(gw.write.backtests, doc, gw.producer, job)
    else:  # an identical job ran before: answered now, no job for the runners
        doc.update(status="succeeded", from_cache=True, finished_at=now(),
                   progress={"stage": "done", "fraction": 1.0},
                   content_hash=alias["content_hash"])  # fmt: skip
        await gw.write.backtest_results.insert_one(alias)
        await store_then_publish(gw.write.backtests, doc, gw.producer, _result_event(job, alias))
    return {
        "job_id": job_id,
        "status": doc["status"],
        "ws_url": f"/ws/backtests/{job_id}",
        "links": links(job_id),
    }


async def _cached_result(gw: Gateway, job: BacktestJob) -> dict[str, Any] | None:
    """The alias result document when Redis holds the result of an identical job that is
    still stored; None otherwise (the job then goes to the runners, who fill the cache)."""
    key = content_hash(job, ENGINE_VERSION)
    cached = await ResultCache(gw.redis, ttl_s=1).get(key)
    if cached is None or not await still_stored(gw.write, cached):
        return None
    return alias_document(job, cached, key)


def _result_event(job: BacktestJob, alias: dict[str, Any]) -> BacktestResult:
    metrics = alias.get("metrics") or {}
    return BacktestResult(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"kwont:backtest-result:{job.job_id}"),
        event_time=now_ms(), source="gateway", job_id=job.job_id, status="succeeded",
        metrics={k: (float(v) if isinstance(v, int | float) else None) for k, v in metrics.items()},
        final_equity=Decimal(alias["final_equity"]) if alias.get("final_equity") else None,
        trade_count=int(alias.get("trade_count") or 0), from_cache=True,
        content_hash=alias["content_hash"],
    )  # fmt: skip


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A backtests document as the API shows it (BacktestPublic), without owner or internals."""
    job = doc.get("job") or {}
    strategy = job.get("strategy") or {"name": "?", "builtin": True}
    progress = doc.get("progress") or {"stage": "queued", "fraction": 0.0}
    return {
        "id": doc["_id"],
        "status": doc["status"],
        "progress": progress,
        "strategy": strategy,
        "params": job.get("params") or {},
        "symbols": job.get("symbols") or [],
        "interval": job.get("interval", ""),
        "start_time": job.get("start_time", 0),
        "end_time": job.get("end_time", 0),
        "submitted_at": doc["submitted_at"],
        "started_at": doc.get("started_at"),
        "finished_at": doc.get("finished_at"),
        "error": doc.get("error"),
        "runner": doc.get("runner"),
        "from_cache": bool(doc.get("from_cache")),
        "stages": doc.get("stages"),
        "links": links(doc["_id"]),
    }


def list_query(
    principal: Principal, status: str | None, strategy: str | None, symbol: str | None
) -> dict[str, Any]:
    """The MongoDB filter for the caller's backtests (grid shards and divergence jobs left
    out) by status, strategy name and symbol."""
    hidden = ["optimization_shard", "divergence"]  # shown under their grid or deployment
    q: dict[str, Any] = {"owner": principal.user_id, "kind": {"$nin": hidden}}
    if status:
        q["status"] = status
    if strategy:
        q["job.strategy.name"] = strategy
    if symbol:
        q["job.symbols"] = symbol.upper()
    return q


async def find(gw: Gateway, q: dict[str, Any], limit: int, offset: int) -> list[dict[str, Any]]:
    """One page of backtests matching q, newest submission first."""
    cursor = gw.read.backtests.find(q).sort("submitted_at", -1).skip(offset).limit(limit)
    return [d async for d in cursor]


async def get_doc(
    gw: Gateway, principal: Principal, job_id: str, primary: bool = False
) -> dict[str, Any]:
    """One of the caller's jobs (one read). Raises ApiError 404 otherwise."""
    db = gw.write if primary else gw.read
    return await owned(db.backtests, "backtest", job_id, principal.user_id)


async def cancel(gw: Gateway, principal: Principal, job_id: str) -> dict[str, Any]:
    """Cancel a job: ``queued`` becomes ``cancelled`` at once; ``running`` becomes
    ``cancelling`` (the runner stops the sandbox, then sets ``cancelled``).

    Raises:
        ApiError: 404 not theirs; 409 already finished.
    """
    owner = principal.user_id
    done = await gw.write.backtests.find_one_and_update(
        {"_id": job_id, "owner": owner, "status": "queued"},
        {"$set": {"status": "cancelled", "finished_at": now(), "progress.stage": "done"}},
        return_document=True,
    )
    if done is None:
        done = await gw.write.backtests.find_one_and_update(
            {"_id": job_id, "owner": owner, "status": "running"},
            {"$set": {"status": "cancelling"}},
            return_document=True,
        )
    if done is None:
        doc = await get_doc(gw, principal, job_id, primary=True)
        if doc["status"] in TERMINAL:
            raise ApiError(409, "conflict", f"backtest {job_id!r} already {doc['status']}")
        return doc
    return dict(done)


async def result(
    gw: Gateway, principal: Principal, job_id: str, points: int | None
) -> dict[str, Any]:
    """Metrics, the trade count and the equity curve (``points`` evenly spaced samples, last
    kept). The trades themselves are paged by :func:`trades`.

    Raises:
        ApiError: 404 not theirs; 409 not finished successfully yet.
    """
    doc = await _result_doc(gw, principal, job_id)
    if doc.get("alias_of"):  # answered from the cache: the series live in the original result
        source = await gw.read.backtest_results.find_one({"_id": doc["alias_of"]})
        doc = {**(source or {}), **{k: v for k, v in doc.items() if v is not None}}
    times, values = decode_equity(doc.get("equity") or {})
    full = len(times)
    if points is not None and full > points:
        idx = np.unique(np.linspace(0, full - 1, points).round().astype(np.int64))
        times, values = times[idx], values[idx]
    values = np.where(np.isfinite(values), values, 0.0)
    return {
        "job_id": job_id,
        "metrics": doc.get("metrics") or {},
        "final_equity": None if doc.get("final_equity") is None else str(doc["final_equity"]),
        "trade_count": int(doc.get("trade_count") or len(doc.get("trades") or [])),
        "equity": np.column_stack([times, values]).tolist() if full else [],
        "equity_points": full,
        "per_symbol": doc.get("per_symbol") or {},
        "monte_carlo": doc.get("monte_carlo"),
        "content_hash": doc.get("content_hash"),
        "duration_ms": doc.get("duration_ms"),
        "links": {"trades": f"{API}/backtests/{job_id}/trades"},
    }


async def _result_doc(gw: Gateway, principal: Principal, job_id: str) -> dict[str, Any]:
    """The caller's stored result. Raises ApiError 404 not theirs, 409 no result yet."""
    doc = await gw.read.backtest_results.find_one({"_id": job_id, "owner": principal.user_id})
    if doc is None:
        job = await get_doc(gw, principal, job_id)
        raise ApiError(409, "not_ready", f"backtest {job_id!r} is {job['status']}; no result yet")
    return dict(doc)


async def trades(
    gw: Gateway, principal: Principal, job_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of a result's trades, in entry order: ``items``, ``next_cursor`` (None on the
    last page) and ``total``.

    Raises:
        ApiError: 400 a cursor that is not from this backtest's pages, or a limit outside
            1..1000; 404 not theirs; 409 not finished successfully yet.
    """
    refused = paging.TRADES.problem(limit)
    if refused is not None:
        raise ApiError(400, "bad_limit", refused[1])
    offset = paging.offset_of(job_id, cursor, "backtest's trades")
    doc = await _result_doc(gw, principal, job_id)
    source = doc.get("alias_of") or job_id
    if "trades" not in doc and source != job_id:  # answered from the cache
        doc = await gw.read.backtest_results.find_one({"_id": source}) or doc
    total = int(doc.get("trade_count") or len(doc.get("trades") or []))
    if "trades" in doc:  # stored before trades were paged: the list is in the document
        items = list(doc["trades"][offset : offset + limit])
    else:
        items = await backtest_trades.page(gw.read, source, offset, limit)
    end = offset + len(items)
    return {"items": items, "next_cursor": paging.cursor_at(job_id, end) if end < total else None,
            "total": total}  # fmt: skip


def decode_equity(equity: dict[str, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``(time_ms, value)`` arrays from the packed little-endian float64 columns."""
    times = np.frombuffer(bytes(equity.get("time") or b""), dtype="<f8")
    values = np.frombuffer(bytes(equity.get("value") or b""), dtype="<f8")
    n = min(len(times), len(values))
    return times[:n], values[:n]
