"""The backtest result cache: Redis, keyed by the content hash of a job.

Two jobs with the same strategy code, parameters, data range, engine settings and engine
version produce the same result, so the second is answered from here without a container.
An entry is small: the id of the job whose stored result it is, plus that result's summary
(metrics, final equity, trade count, grid ranking). The answer to a hit stores an alias to
that result rather than a copy of its trade list (a copy of a one-year result is ~13 MB and
takes ~0.3 s to insert). Entries expire (``KWONT_RESULT_CACHE_TTL_S``) so reloaded market
data is picked up.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from redis.asyncio import Redis

from kwont_common.events import BacktestJob
from kwont_quant import ENGINE_VERSION

PREFIX = "kwont:backtest-cache:"
# What identifies a result; everything else in a job (ids, owner, times) does not.
_CONTENT_FIELDS = (
    "kind", "params", "param_sets", "objective", "symbols", "interval", "start_time",
    "end_time", "cash", "fee_bps", "slippage_bps", "leverage", "long_only", "sizing",
)  # fmt: skip


def content_hash(job: BacktestJob, strategy_code: str | None) -> str:
    """SHA-256 over the strategy (built-in name or uploaded source), the job's content fields
    and the engine version."""
    doc = job.model_dump(mode="json", include=set(_CONTENT_FIELDS))
    doc["strategy"] = (
        {"code_sha256": hashlib.sha256(strategy_code.encode()).hexdigest()}
        if strategy_code is not None
        else {"builtin": job.strategy.name}
    )
    doc["engine_version"] = ENGINE_VERSION
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


class ResultCache:
    """get/put of result documents (JSON) by content hash."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def get(self, key: str) -> dict[str, Any] | None:
        """The cached result, or None (also when the entry is unreadable)."""
        raw = await self.redis.get(PREFIX + key)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def put(self, key: str, result: dict[str, Any]) -> None:
        await self.redis.set(PREFIX + key, json.dumps(result, separators=(",", ":")), ex=self.ttl_s)
