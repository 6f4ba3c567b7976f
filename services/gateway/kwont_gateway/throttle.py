"""Login throttling in Redis, per account (username) and per client IP.

Failed logins are counted per subject in a window (``login_fail_window_s``, counted from
the first failure). The failure that reaches the limit locks the subject out for
``login_lockout_s``; each further failure while the count lives (the first one after a
lockout ends, typically) locks it again for twice as long, up to ``login_lockout_max_s``.
A locked subject's attempts are refused with 429 before the password is checked, so they
cost no argon2 time and reveal nothing. A successful login clears the account's count and
lock, not the IP's (one right password must not reset an IP guessing many accounts).

Unknown usernames are throttled like real ones (no enumeration). Usernames are hashed in
the keys, which bounds their length.

**Redis outage: fail open.** When Redis does not answer, logins proceed unthrottled and a
warning is logged. Failing closed would lock every user, the admins who must fix the outage
included, out of a platform whose other parts still work; the argon2id check (tens of
milliseconds of CPU per attempt) still bounds guessing while Redis is down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from kwont_gateway.errors import ApiError

log = logging.getLogger(__name__)

# KEYS: lock keys. Returns the longest remaining lock in ms (0: none).
_LOCKED = """
local wait = 0
for _, key in ipairs(KEYS) do
  local t = redis.call('PTTL', key)
  if t > wait then wait = t end
end
return wait
"""

# KEYS: fail1, lock1, fail2, lock2...; ARGV: window_ms, base_ms, max_ms, limit1, limit2...
# Counts one failure per subject; returns the longest lock it set in ms (0: none).
_FAIL = """
local window = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local wait = 0
for i = 1, #KEYS, 2 do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], window) end
  local limit = tonumber(ARGV[3 + (i + 1) / 2])
  if count >= limit then
    local lock = math.min(cap, base * math.pow(2, math.min(count - limit, 30)))
    redis.call('SET', KEYS[i + 1], '1', 'PX', lock)
    redis.call('PEXPIRE', KEYS[i], lock + window)
    if lock > wait then wait = lock end
  end
end
return wait
"""


class LoginThrottle:
    """Counts failed logins and refuses locked accounts and IPs."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        per_account: int,
        per_ip: int,
        window_s: int,
        lockout_s: int,
        lockout_max_s: int,
        prefix: str = "kwont:login",
    ) -> None:
        self.redis = redis
        self.limits = {"acct": per_account, "ip": per_ip}
        self.window_ms = window_s * 1000
        self.lockout_ms = lockout_s * 1000
        self.lockout_max_ms = lockout_max_s * 1000
        self.prefix = prefix
        self._locked = redis.register_script(_LOCKED)
        self._fail = redis.register_script(_FAIL)

    def _subjects(self, username: str, ip: str) -> dict[str, str]:
        account = hashlib.sha256(username.encode()).hexdigest()[:32]
        return {"acct": account, "ip": ip}

    def _keys(self, kind: str, subject: str) -> tuple[str, str]:
        return f"{self.prefix}:fail:{kind}:{subject}", f"{self.prefix}:lock:{kind}:{subject}"

    async def check(self, username: str, ip: str) -> None:
        """Raises:
        ApiError: 429 with ``Retry-After`` while the account or the IP is locked out.
        """
        locks = [self._keys(k, s)[1] for k, s in self._subjects(username, ip).items()]
        try:
            wait = int(await self._locked(keys=locks))
        except RedisError as exc:
            log.warning("login throttle unavailable (failing open): %s", exc)
            return
        if wait > 0:
            raise locked_out(wait)

    async def failed(self, username: str, ip: str) -> int:
        """Count a failed login; the lockout it started in ms (0: none)."""
        keys: list[str] = []
        for kind, subject in self._subjects(username, ip).items():
            keys += self._keys(kind, subject)
        args = [self.window_ms, self.lockout_ms, self.lockout_max_ms, *self.limits.values()]
        try:
            return int(await self._fail(keys=keys, args=args))
        except RedisError as exc:
            log.warning("login throttle unavailable (failing open): %s", exc)
            return 0

    async def succeeded(self, username: str) -> None:
        """Clear the account's failures and lock."""
        account = self._subjects(username, "")["acct"]
        try:
            await self.redis.delete(*self._keys("acct", account))
        except RedisError as exc:
            log.warning("login throttle unavailable (failing open): %s", exc)


def locked_out(wait_ms: int) -> ApiError:
    """The 429 for a locked-out login: when to retry, in the message and in Retry-After."""
    seconds = max(1, math.ceil(wait_ms / 1000))
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return ApiError(
        429,
        "rate_limited",
        f"too many failed logins; try again in {seconds}s (after {until:%Y-%m-%d %H:%M:%S} UTC)",
        headers={"Retry-After": str(seconds)},
    )
