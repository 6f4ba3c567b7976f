"""Wiring and lifecycle of the risk service: ``signals`` in (group ``kwont-risk``), the book
from ``fills``, ``order-updates`` and ``portfolio-snapshots`` (group ``kwont-risk-book``),
``orders`` and ``risk-rejections`` out."""

from __future__ import annotations

import sys

from kwont_common.kafka import EventConsumer, account_of_key
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
    """The gate on ``signals``, and the book's consumer group as a task."""
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
    book_consumer = EventConsumer(
        settings,
        runtime.producer,
        {
            "fills": book.on_fill,
            "order-updates": book.on_order_update,
            "portfolio-snapshots": book.on_snapshot,
        },
        group_id=settings.book_group,
        latest_only=("portfolio-snapshots",),
        # accounts side by side: a fill a signal waits for never queues behind other
        # accounts' snapshots; one account's fills and updates stay in order
        concurrency=settings.consumer_concurrency,
        ordering={"fills": account_of_key, "order-updates": account_of_key},
    )
    runtime.health.add_check("book_consumer", lambda: book_consumer.running)
    # one account's signals in order (its book decides them), other accounts' at once
    return Wiring(
        handlers={"signals": gate.on_signal}, tasks=[book_consumer.run],
        concurrency=settings.consumer_concurrency, ordering={"signals": account_of_key},
        fast_fetch=True,  # signals are on the candle -> fill path; the book's topics are not
    )  # fmt: skip


def run() -> None:
    """Console script ``kwont-risk``: the service, or an admin command (see cli.py)."""
    argv = sys.argv[1:]
    if argv and argv[0] != "serve":
        raise SystemExit(cli.main(argv))
    run_service("risk", setup, RiskSettings)
