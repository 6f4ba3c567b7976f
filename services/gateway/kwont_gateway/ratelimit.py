"""Sliding-window rate limits in Redis, per user and per client IP.

Two budgets: ``read`` (cheap requests) and ``submit`` (backtests and optimisations, which
cost runner time). Each budget is checked for the user and for the IP in one atomic Lua
call (one round trip): a request is counted only when every window still has room, and a
refusal says how long until the oldest counted request leaves the window (``Retry-After``).
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Literal

import redis.asyncio as aioredis

from kwont_gateway.errors import ApiError

Budget = Literal["read", "submit"]

# KEYS: window keys; ARGV: now_ms, window_ms, member, limit per key...
_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local limit = tonumber(ARGV[3 + i])
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
end
return 0
"""


class RateLimiter:
    """Checks and counts requests against the windows of a user and an IP."""

    def __init__(self, redis: aioredis.Redis, window_s: int, prefix: str = "kwont:rl") -> None:
        self.redis = redis
        self.window_ms = window_s * 1000
        self.prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def wait_ms(self, budget: Budget, limits: dict[str, int]) -> int:
        """Count one request against every ``{subject: limit}``; 0 when allowed, else the
        milliseconds until it would be."""
        keys = [f"{self.prefix}:{budget}:{subject}" for subject in limits]
        now = int(time.time() * 1000)
        member = f"{now}-{uuid.uuid4().hex[:8]}"
        args: list[str | int] = [now, self.window_ms, member, *limits.values()]
        return int(await self._script(keys=keys, args=args))

    async def check(self, budget: Budget, user: str, ip: str, per_user: int, per_ip: int) -> None:
        """Raises:
        ApiError: 429 with ``Retry-After`` (whole seconds, at least 1) when over a limit.
        """
        wait = await self.wait_ms(budget, {f"user:{user}": per_user, f"ip:{ip}": per_ip})
        if wait > 0:
            seconds = max(1, math.ceil(wait / 1000))
            raise ApiError(
                429,
                "rate_limited",
                f"too many {budget} requests; retry in {seconds}s",
                headers={"Retry-After": str(seconds)},
            )
