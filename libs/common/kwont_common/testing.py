"""Test data factories for events (one valid instance per topic, built from a seed), and
the way a test runs one service in its own event loop and reads what it published.

Used by the contract tests, the services' tests and the benchmarks, so every test speaks of
the same well-formed messages.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer

from kwont_common import events as ev
from kwont_common.service import Setup, serve
from kwont_common.settings import Settings
from kwont_common.topics import TOPICS

S = TypeVar("S", bound=Settings)

MINUTE_MS = 60_000


def candle(
    symbol: str = "BTCUSDT", open_time: int = 1_700_000_000_000, price: float = 100.0, **kw: object
) -> ev.Candle:
    """A closed 1-minute candle around ``price``."""
    fields: dict[str, object] = {
        "event_time": open_time + MINUTE_MS - 1,
        "source": "test",
        "symbol": symbol,
        "interval": "1m",
        "open_time": open_time,
        "close_time": open_time + MINUTE_MS - 1,
        "open": price,
        "high": price * 1.01,
        "low": price * 0.99,
        "close": price * 1.005,
        "volume": 12.5,
        "quote_volume": 1250.0,
        "trades": 42,
        "feed": "synthetic",
    }
    fields.update(kw)
    return ev.Candle.model_validate(fields)


def sample_events(seed: int = 7) -> dict[str, ev.Event]:
    """One valid event per registered topic (base name -> event), deterministic per seed."""
    rnd = random.Random(seed)
    t0 = 1_700_000_000_000 + rnd.randrange(1_000_000) * MINUTE_MS
    signal_id = uuid.UUID(int=rnd.getrandbits(128), version=4)
    base = {"event_time": t0, "source": "test"}
    flow = {**base, "account": "acct-1", "symbol": "ETHUSDT", "correlation_id": signal_id}
    out: dict[str, ev.Event] = {
        "ticks": ev.Tick(**base, symbol="BTCUSDT", price=101.5, quantity=0.25, trade_id=7),
        "candles": candle(open_time=t0),
        "signals": ev.Signal(
            **{**flow, "event_id": signal_id},
            deployment_id="dep-1",
            strategy="sma_cross",
            interval="1m",
            action="enter_long",
            candle_open_time=t0 - MINUTE_MS,
            reference_price=2000.5,
            stop_loss=1950.0,
        ),
        "orders": ev.Order(
            **flow,
            client_order_id=f"k-{signal_id.hex[:20]}",
            signal_id=signal_id,
            venue="paper",
            side="BUY",
            quantity=Decimal("0.125"),
            leverage=3,
            stop_loss=Decimal("1950.00"),
        ),
        "fills": ev.Fill(
            **flow,
            client_order_id=f"k-{signal_id.hex[:20]}",
            venue="paper",
            trade_id="p-1",
            side="BUY",
            quantity=Decimal("0.125"),
            price=Decimal("2001.10"),
            fee=Decimal("0.25013750"),
        ),
        "funding": ev.FundingRate(
            **base, symbol="ETHUSDT", funding_time=t0, rate=0.0001, mark_price=2001.1
        ),
        "funding-payments": ev.FundingPaid(
            **flow,
            venue="paper",
            position=f"k-{signal_id.hex[:20]}",
            funding_time=t0,
            side="LONG",
            quantity=Decimal("0.125"),
            mark_price=Decimal("2001.1"),
            rate=Decimal("0.0001"),
            paid=Decimal("0.02501375"),
            position_funding=Decimal("0.02501375"),
        ),
        "order-updates": ev.OrderUpdate(
            **flow,
            client_order_id=f"k-{signal_id.hex[:20]}",
            venue="paper",
            status="FILLED",
            filled_quantity=Decimal("0.125"),
            average_price=Decimal("2001.10"),
        ),
        "risk-rejections": ev.RiskRejection(
            **flow, signal_id=signal_id, code="max_open_positions", reason="3 positions open"
        ),
        "backtest-jobs": ev.BacktestJob(
            **base,
            job_id="job-1",
            owner="alice",
            strategy=ev.StrategyRef(name="sma_cross"),
            params={"fast": 10, "slow": 30},
            symbols=["BTCUSDT"],
            interval="1m",
            start_time=t0 - 365 * 24 * 60 * MINUTE_MS,
            end_time=t0,
            cash=Decimal("10000"),
            fee_bps=10,
        ),
        "backtest-progress": ev.BacktestProgress(
            **base, job_id="job-1", stage="running", fraction=0.5
        ),
        "backtest-results": ev.BacktestResult(
            **base,
            job_id="job-1",
            status="succeeded",
            metrics={"sharpe": 1.2, "total_return": 0.08, "cagr": None},
            final_equity=Decimal("10800.12"),
            trade_count=14,
        ),
        "portfolio-snapshots": ev.PortfolioSnapshot(
            **base,
            account="acct-1",
            balances=[ev.Balance(asset="USDT", total=Decimal("9749.75"))],
            positions=[
                ev.Position(
                    symbol="ETHUSDT",
                    side="LONG",
                    quantity=Decimal("0.125"),
                    average_entry=Decimal("2001.10"),
                    mark_price=Decimal("2010"),
                    unrealized_pnl=Decimal("1.1125"),
                )
            ],
            equity=Decimal("10000.86"),
        ),
    }
    missing = set(TOPICS) - set(out)
    if missing:  # a new topic must get a sample here
        raise AssertionError(f"no sample event for {sorted(missing)}")
    return out


def service_settings(
    cls: type[S], service: str, bootstrap: str, mongo_uri: str, database: str, **kw: Any
) -> S:
    """One service's settings for a test: a fresh topic prefix and consumer group (tests never
    see each other's messages), one partition, fast retries, metrics on a free port, plain
    logs, ``database`` for platform data; ``kw`` overrides any of it."""
    fields: dict[str, Any] = {
        "service_name": service,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_idempotence": False,
        "topic_prefix": f"{service[0]}{uuid.uuid4().hex[:10]}.",
        "topic_partitions": 1,
        "consumer_group": f"g-{uuid.uuid4().hex[:10]}",
        "mongo_uri": mongo_uri,
        "mongo_database": database,
        "metrics_port": 0,
        "log_json": False,
        "retry_backoff_max_s": 0.05,
        "handler_max_attempts": 2,
        "startup_timeout_s": 20,
    }
    fields.update(kw)
    return cls.model_validate(fields)


@asynccontextmanager
async def serving(settings: Settings, setup: Setup) -> AsyncIterator[None]:
    """The service of ``setup``, served in this event loop until the block ends.

    Raises:
        AssertionError: it did not stop with exit code 0 within 30 s.
    """
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, setup, stop))
    try:
        yield
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 30)
        if code != 0:
            raise AssertionError(f"{settings.service_name} exited with {code}")


async def read_topic(bootstrap: str, topic: str, count: int, settle: float = 0.5) -> list[bytes]:
    """Every value of ``topic`` (from its start) once at least ``count`` arrived and nothing
    more came for ``settle`` seconds, so a test also sees a message too many; at most 30 s.

    Raises:
        TimeoutError: fewer than ``count`` values within 30 s.
    """
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            quiet = 0.0
            while len(values) < count or quiet < settle:
                batch = await consumer.getmany(timeout_ms=100)
                got = [r.value for rs in batch.values() for r in rs if r.value is not None]
                values += got
                quiet = 0.0 if got else quiet + 0.1
    finally:
        await consumer.stop()
    return values
