"""The backtest result cache in Redis, shared by the runner (which fills it) and the gateway
(which answers identical submissions from it at once).

Two jobs with the same strategy (built-in name or uploaded code hash), parameters, data
range, engine settings and engine version produce the same result. An entry is small: the id
of the job whose stored result it is, plus that result's summary. An answer from the cache
stores an *alias* result document pointing at that stored result instead of a copy of its
trade list (a one-year result is ~13 MB and takes ~0.3 s to insert). Entries expire so that
reloaded market data is picked up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from redis.asyncio import Redis

from kwont_common.events import BacktestJob

PREFIX = "kwont:backtest-cache:"
SUMMARY_FIELDS = (
    "metrics", "final_equity", "trade_count", "ranking", "walk_forward", "monte_carlo",
)  # fmt: skip
# What identifies a result; everything else in a job (ids, owner, times) does not.
_CONTENT_FIELDS = (
    "kind", "params", "param_sets", "objective", "symbols", "interval", "start_time",
    "end_time", "cash", "fee_bps", "slippage_bps", "leverage", "long_only", "sizing",
    "walk_forward",
)  # fmt: skip


def content_hash(job: BacktestJob, engine_version: str, code_sha256: str | None = None) -> str:
    """SHA-256 over the strategy (built-in name, or the uploaded code's hash), the job's
    content fields and the engine version."""
    doc = job.model_dump(mode="json", include=set(_CONTENT_FIELDS))
    digest = code_sha256 or job.strategy.code_sha256
    doc["strategy"] = (
        {"builtin": job.strategy.name} if job.strategy.builtin else {"code_sha256": digest}
    )
    doc["engine_version"] = engine_version
    if job.margin_tiers:  # only when on: the keys of earlier results stay valid
        doc["margin_tiers"] = True
    if job.funding:  # the same: a switch that is off leaves the key as it was
        doc["funding"] = True
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def summary(result_doc: dict[str, Any]) -> dict[str, Any]:
    """What the cache keeps of a stored result: its job id and summary fields."""
    return {"job_id": result_doc["_id"], **{k: result_doc.get(k) for k in SUMMARY_FIELDS}}


def alias_document(job: BacktestJob, cached: dict[str, Any], key: str) -> dict[str, Any]:
    """The ``backtest_results`` document of a job answered from the cache: the summary, and
    ``alias_of`` the stored result that holds the trades and equity curve."""
    return {
        "_id": job.job_id,
        "owner": job.owner,
        "kind": job.kind,
        "optimization_id": job.optimization_id,
        "alias_of": cached["job_id"],
        **{k: cached.get(k) for k in SUMMARY_FIELDS},
        "content_hash": key,
        "duration_ms": 0,
        "from_cache": True,
        "created_at": dt.datetime.now(dt.UTC),
    }


async def still_stored(db: Any, cached: dict[str, Any]) -> bool:
    """Whether the job a cache entry points to still has its result. Asks the small status
    document (``backtests``), not the result itself: reading any field of a one-year result
    document costs ~80 ms on SecantusDB, which loads the whole document."""
    ref = cached.get("job_id")
    if not ref:
        return False
    return (
        await db["backtests"].find_one({"_id": ref, "status": "succeeded"}, {"_id": 1}) is not None
    )


class ResultCache:
    """get/put of cache entries by content hash."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def get(self, key: str) -> dict[str, Any] | None:
        """The entry, or None (also when it is unreadable)."""
        raw = await self.redis.get(PREFIX + key)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) and value.get("job_id") else None

    async def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store the entry under the content hash key for ttl_s seconds."""
        await self.redis.set(PREFIX + key, json.dumps(entry, separators=(",", ":")), ex=self.ttl_s)
