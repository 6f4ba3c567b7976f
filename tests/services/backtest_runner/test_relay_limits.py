"""The relay's per-sandbox rules, plain: the connection cap and the read token bucket."""

from __future__ import annotations

import pytest

from kwont_backtest_runner.relay_limits import MIB, Ledger, RelayLimits, TokenBucket


def test_bucket_lets_the_burst_through_then_charges_the_rate() -> None:
    bucket = TokenBucket(rate=1000.0, burst=500.0)
    assert bucket.take(500, now=0.0) == 0.0
    assert bucket.take(1000, now=0.0) == pytest.approx(1.0)  # a debt of 1000 at 1000/s
    assert bucket.take(500, now=0.0) == pytest.approx(1.5)  # queued behind the first


def test_bucket_refills_with_time_up_to_the_burst() -> None:
    bucket = TokenBucket(rate=100.0, burst=200.0)
    bucket.take(200, now=0.0)
    assert bucket.take(100, now=1.0) == 0.0  # 1 s refilled 100
    bucket.take(0, now=100.0)
    assert bucket.tokens == 200.0  # never more than the burst


def test_bucket_long_run_rate_is_the_rate() -> None:
    """Sending N bytes in chunks, waiting as told, takes (N - burst) / rate."""
    bucket, now = TokenBucket(rate=MIB, burst=2 * MIB), 0.0
    for _ in range(40):  # 10 MiB in 256 KiB chunks
        now += bucket.take(256 * 1024, now)
    assert now == pytest.approx((10 - 2) * 1.0)


def test_cap_refuses_the_connection_past_it_per_source() -> None:
    ledger = Ledger(RelayLimits(max_connections=2))
    assert ledger.admit("10.0.0.2", 0.0) and ledger.admit("10.0.0.2", 0.0)
    assert not ledger.admit("10.0.0.2", 0.0)
    assert ledger.admit("10.0.0.3", 0.0)  # another sandbox has its own cap
    ledger.release("10.0.0.2")
    assert ledger.admit("10.0.0.2", 0.0)
    assert ledger.open == {"10.0.0.2": 2, "10.0.0.3": 1}


def test_zero_means_no_cap_and_no_rate() -> None:
    ledger = Ledger(RelayLimits(max_connections=0, read_bytes_s=0))
    assert all(ledger.admit("a", 0.0) for _ in range(100))
    assert ledger.delay("a", 10**9, 0.0) == 0.0


def test_connections_of_one_sandbox_share_one_bucket() -> None:
    ledger = Ledger(RelayLimits(read_bytes_s=1000.0, burst_bytes=1000.0))
    ledger.admit("a", 0.0)
    ledger.admit("a", 0.0)
    assert ledger.delay("a", 1000, 0.0) == 0.0
    assert ledger.delay("a", 1000, 0.0) == pytest.approx(1.0)  # the second connection waits
    assert ledger.delay("b", 1000, 0.0) == 0.0


def test_reconnecting_buys_no_fresh_burst() -> None:
    ledger = Ledger(RelayLimits(read_bytes_s=1000.0, burst_bytes=1000.0))
    ledger.admit("a", 0.0)
    ledger.delay("a", 3000, 0.0)
    ledger.release("a")
    ledger.admit("a", 0.5)
    assert ledger.delay("a", 1, 0.5) > 1.0  # still in debt
    ledger.release("a")
    ledger.prune(10.0)  # refilled and idle: forgotten
    assert ledger.buckets == {}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"max_connections": -1}, "max_connections"), ({"read_bytes_s": -1.0}, "read_bytes_s"),
     ({"burst_bytes": 0.0}, "burst_bytes")],
)  # fmt: skip
def test_bad_limits_say_what_is_wrong(kwargs: dict[str, float], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        RelayLimits(**kwargs)  # type: ignore[arg-type]
