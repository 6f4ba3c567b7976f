"""Stored form of a finished job: ``backtests`` status documents and ``backtest_results``.

Equity curves are stored like candles: little-endian float64 columns as binary, so a one-year
1-minute result stays small and loads fast. The trade list is not part of it: it goes to
``backtest_trades`` in chunks (``kwont_common.backtest_trades``), written before the result,
so a stored result always has its trades. ``backtest_results`` is keyed by ``job_id``: a
second insert for the same job is refused by MongoDB, so a job never has two results.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import numpy as np
from pymongo.errors import DuplicateKeyError

from kwont_common.events import BacktestJob, BacktestResult
from kwont_common.mongo import Database

JOBS, RESULTS = "backtests", "backtest_results"
FINAL = ("succeeded", "failed", "cancelled")


def utcnow() -> dt.datetime:
    """The current time, UTC-aware."""
    return dt.datetime.now(dt.UTC)


def _curve_bytes(curve: dict[str, Any] | None) -> dict[str, bytes] | None:
    if not curve:
        return None
    return {
        "time": np.ascontiguousarray(curve["open_time_ms"], dtype="<f8").tobytes(),
        "value": np.ascontiguousarray(curve["equity"], dtype="<f8").tobytes(),
    }


def result_document(
    job: BacktestJob, result: dict[str, Any], content_hash: str, duration_ms: int, cached: bool
) -> dict[str, Any]:
    """The ``backtest_results`` document of a succeeded job (curves already decoded), without
    the trade list (stored by :func:`kwont_common.backtest_trades.store`)."""
    doc: dict[str, Any] = {
        "_id": job.job_id,
        "owner": job.owner,
        "kind": job.kind,
        "optimization_id": job.optimization_id,
        "metrics": result.get("metrics", {}),
        "final_equity": _decimal_text(result.get("final_equity")),
        "equity": _curve_bytes(result.get("equity_curve")),
        "per_symbol": {
            s: {
                **{k: v for k, v in block.items() if k != "equity_curve"},
                "equity": _curve_bytes(block.get("equity_curve")),
            }
            for s, block in (result.get("symbols") or {}).items()
        },
        "ranking": result.get("rankings"),
        "walk_forward": result.get("walk_forward"),
        "monte_carlo": result.get("monte_carlo"),
        "trade_count": len(result.get("trades") or []),
        "candles": result.get("candles"),
        "content_hash": content_hash,
        "duration_ms": duration_ms,
        "from_cache": cached,
        "created_at": utcnow(),
    }
    return doc


def _decimal_text(value: Any) -> str | None:
    if value is None:
        return None
    return format(Decimal(repr(float(value))).quantize(Decimal("0.00000001")), "f")


async def store_result(db: Database, doc: dict[str, Any]) -> bool:
    """Insert the result; False when this job already has one (kept as it is)."""
    try:
        await db[RESULTS].insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def job_state(db: Database, job: BacktestJob) -> dict[str, Any]:
    """The job's status document, created as ``queued`` when the job did not come through the
    gateway (e.g. published by a script)."""
    await db[JOBS].update_one(
        {"_id": job.job_id},
        {
            "$setOnInsert": {
                "owner": job.owner,
                "status": "queued",
                "job": job.model_dump(mode="json"),
                "progress": {"stage": "queued", "fraction": 0.0},
                "submitted_at": utcnow(),
                "started_at": None,
                "finished_at": None,
                "error": None,
                "runner": None,
                "from_cache": False,
            }
        },
        upsert=True,
    )
    doc = await db[JOBS].find_one({"_id": job.job_id})
    assert doc is not None
    return doc


async def mark(db: Database, job_id: str, **fields: Any) -> None:
    """Set fields of a job's status document (``status``, ``progress``, ``error``, ...)."""
    if fields.get("status") in FINAL:
        fields.setdefault("finished_at", utcnow())
    await db[JOBS].update_one({"_id": job_id}, {"$set": fields})


async def fail(db: Database, job_id: str, error: str) -> bool:
    """Mark a job ``failed`` with ``error`` unless it is final already; True if it was."""
    done = await db[JOBS].update_one(
        {"_id": job_id, "status": {"$nin": list(FINAL)}},
        {
            "$set": {
                "status": "failed",
                "error": error,
                "finished_at": utcnow(),
                "progress.stage": "done",
            }
        },
    )
    return bool(done.modified_count)


def result_event(
    job: BacktestJob, status: str, runner: str, *, doc: dict[str, Any] | None = None,
    error: str | None = None, duration_ms: int = 0,
) -> BacktestResult:  # fmt: skip
    """The ``backtest-results`` event. Its id is derived from the job, so a re-published
    result (after a crash between storing and publishing) is recognisably the same event."""
    doc = doc or {}
    metrics = {k: (float(v) if isinstance(v, int | float) else None)
               for k, v in (doc.get("metrics") or {}).items()}  # fmt: skip
    return BacktestResult(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"kwont:backtest-result:{job.job_id}"),
        event_time=int(utcnow().timestamp() * 1000),
        source="backtest-runner",
        job_id=job.job_id,
        status=status,
        error=error,
        metrics=metrics,
        final_equity=Decimal(doc["final_equity"]) if doc.get("final_equity") else None,
        trade_count=int(doc.get("trade_count") or len(doc.get("trades") or [])),
        from_cache=bool(doc.get("from_cache")),
        content_hash=doc.get("content_hash"),
        duration_ms=duration_ms or int(doc.get("duration_ms") or 0),
        runner=runner,
        optimization_id=job.optimization_id,
        ranking=_without_moments(doc.get("ranking")),
    )


def _without_moments(ranking: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The ranking for the event: the rows' block moments stay in MongoDB (they are for the
    gateway's overfitting guards, and would make the event several times larger)."""
    if ranking is None:
        return None
    return [{k: v for k, v in row.items() if k != "moments"} for row in ranking]
