"""Wiring and lifecycle of the risk service: ``signals`` in, the book from ``fills``,
``order-updates`` and ``portfolio-snapshots``, all four in one group (``kwont-risk``)
assigned by partition number, so one replica owns all of an account's inputs; ``orders`` and
``risk-rejections`` out."""

from __future__ import annotations

import sys

from kwont_common.kafka import account_of_key
from kwont_common.mongo import Database
from kwont_common.service import Runtime, Wiring, run_service
from kwont_risk import cli
from kwont_risk.accounts import Directory
from kwont_risk.book import Book
from kwont_risk.gate import REJECTIONS, Gate
from kwont_risk.settings import RiskSettings
from kwont_risk.stops import StopWatch


async def ensure_indexes(db: Database) -> None:
    """Indexes the API reads rejections and orders by (idempotent)."""
    for collection in (REJECTIONS, "risk_orders"):
        await db[collection].create_index([("owner", 1), ("event_time", -1)], name="owner_time")
        await db[collection].create_index([("account", 1), ("event_time", -1)], name="account_time")


async def setup(runtime: Runtime) -> Wiring:
    """The gate on ``signals`` and the book on its topics, in one consumer."""
    settings = runtime.settings
    assert isinstance(settings, RiskSettings)
    mongo = await runtime.mongo()
    db = mongo.write
    await ensure_indexes(db)
    directory = Directory(db, settings.limits_cache_s)
    book = Book(db, directory)
    # Primary reads of candles: the one marketdata stored just before the signal's candle.
    stops = StopWatch(db, mongo.market_write, directory.filters)
    gate = Gate(db, book, directory, runtime.producer, settings, runtime.stop, stops)
    # Accounts side by side, one account's signals (its book decides them), fills and
    # updates each in order. Each topic is its own lane of the consumer, so a signal
    # waiting for its fill never holds the slots the fill needs, and a fill never queues
    # behind other accounts' snapshots.
    return Wiring(
        handlers={
            "signals": gate.on_signal,
            "fills": book.on_fill,
            "order-updates": book.on_order_update,
            "portfolio-snapshots": book.on_snapshot,
        },
        concurrency=settings.consumer_concurrency,
        ordering={"signals": account_of_key, "fills": account_of_key,
                  "order-updates": account_of_key},
        latest_only=("portfolio-snapshots",),
        fast_fetch=True,  # signals are on the candle -> fill path (one fetch serves all four)
    )  # fmt: skip


def run() -> None:
    """Console script ``kwont-risk``: the service, or an admin command (see cli.py)."""
    argv = sys.argv[1:]
    if argv and argv[0] != "serve":
        raise SystemExit(cli.main(argv))
    run_service("risk", setup, RiskSettings)
