"""What the Mongo relay allows each sandbox: a connection cap and a read-bandwidth bucket.

Plain logic with the clock passed in, so it is tested without sockets; the relay
(:mod:`kwont_backtest_runner.relay`) keys both by the sandbox's source address and applies
them. A sandbox is one container, one address on the sandbox network: all its connections
share one cap and one bucket, so opening more connections buys no more bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIB = 1024 * 1024


@dataclass(frozen=True)
class RelayLimits:
    """``max_connections`` per source address (0: no cap); ``read_bytes_s`` and
    ``burst_bytes``: the token bucket on bytes from MongoDB to one sandbox (rate 0: none)."""

    max_connections: int = 8
    read_bytes_s: float = 8 * MIB
    burst_bytes: float = 16 * MIB

    def __post_init__(self) -> None:
        if self.max_connections < 0:
            raise ValueError(
                f"max_connections must be >= 0 (0: no cap), not {self.max_connections}"
            )
        if self.read_bytes_s < 0:
            raise ValueError(f"read_bytes_s must be >= 0 (0: unlimited), not {self.read_bytes_s}")
        if self.read_bytes_s and self.burst_bytes <= 0:
            raise ValueError(f"burst_bytes must be > 0 with a read rate, not {self.burst_bytes}")


@dataclass
class TokenBucket:
    """Tokens are bytes; they refill at ``rate`` per second up to ``burst``.

    :meth:`take` never refuses: it spends the bytes (the balance may go negative, a debt)
    and says how long the caller must wait before sending them, so concurrent takers queue
    behind one another and the long-run rate is exactly ``rate``.
    """

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    stamp: float | None = None

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst  # a new sandbox starts with a full burst

    def take(self, n: int, now: float) -> float:
        """Spend ``n`` bytes at time ``now`` (monotonic seconds); seconds to wait first."""
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= n
        return -self.tokens / self.rate if self.tokens < 0 else 0.0


@dataclass
class Ledger:
    """Open connections and read buckets by source address."""

    limits: RelayLimits
    open: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def admit(self, source: str, now: float) -> bool:
        """Count a new connection from ``source``; False (not counted) when over the cap."""
        self.prune(now)
        count = self.open.get(source, 0)
        if self.limits.max_connections and count >= self.limits.max_connections:
            return False
        self.open[source] = count + 1
        return True

    def release(self, source: str) -> None:
        """A connection of ``source`` closed (its bucket stays: see :meth:`prune`)."""
        count = self.open.get(source, 0) - 1
        if count > 0:
            self.open[source] = count
        else:
            self.open.pop(source, None)

    def prune(self, now: float) -> None:
        """Forget the buckets of sources with no connection whose bucket has refilled.

        A bucket outlives its connections until then: dropping it with the last one would
        hand a sandbox that reconnects a fresh burst each time.
        """
        for source, bucket in list(self.buckets.items()):
            if source not in self.open and bucket.take(0, now) == 0.0 \
                    and bucket.tokens >= bucket.burst:  # fmt: skip
                del self.buckets[source]

    def delay(self, source: str, n: int, now: float) -> float:
        """Seconds to hold ``n`` bytes from MongoDB to ``source`` (0 with no rate)."""
        if not self.limits.read_bytes_s:
            return 0.0
        bucket = self.buckets.get(source)
        if bucket is None:
            bucket = TokenBucket(self.limits.read_bytes_s, self.limits.burst_bytes)
            self.buckets[source] = bucket
        return bucket.take(n, now)
