"""Wiring and lifecycle of the risk service: ``signals`` in, the book from ``fills``,
``order-updates`` and ``portfolio-snapshots``, all four in one group (``kwont-risk``)
assigned by partition number, so one replica owns all of an account's inputs; ``orders`` and
``risk-rejections`` out. The books of the owned partitions live in memory
(:mod:`kwont_risk.book`), snapshotted to ``risk_state``; the API's documents are written
behind (:mod:`kwont_risk.documents`)."""

from __future__ import annotations

import asyncio
import sys

from kwont_common.kafka import account_of_key
from kwont_common.mongo import Database
from kwont_common.service import Runtime, Wiring, run_service
from kwont_common.state.writebehind import WriteBehind
from kwont_risk import cli, resets
from kwont_risk.accounts import Directory
from kwont_risk.book import Book
from kwont_risk.decisions import ORDERS, REJECTIONS
from kwont_risk.documents import STATE, new_store
from kwont_risk.gate import Gate
from kwont_risk.settings import RiskSettings
from kwont_risk.stops import StopWatch


async def ensure_indexes(db: Database) -> None:
    """Indexes the API reads rejections and orders by (idempotent)."""
    for collection in (REJECTIONS, ORDERS):
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
    store = new_store(db[STATE], settings.group_id, settings.state_flush_s)
    views = WriteBehind(db, every_s=settings.state_flush_s)
    book = Book(store, directory, views, settings.replay_wait_s)
    # Primary reads of candles: the one marketdata stored just before the signal's candle.
    stops = StopWatch(db, mongo.market_write, directory.filters)
    gate = Gate(book, directory, runtime.producer, settings, runtime.stop, stops)
    await store.start()

    async def stopped() -> None:
        await store.stop()
        await views.flush()

    async def pick_up_resets(stop: asyncio.Event) -> None:
        await resets.poll(db, store, book, settings.reset_poll_s, stop)

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
        tasks=[views.run, pick_up_resets],
        on_stop=[stopped],
        concurrency=settings.consumer_concurrency,
        ordering={"signals": account_of_key, "fills": account_of_key,
                  "order-updates": account_of_key},
        latest_only=("portfolio-snapshots",),
        fast_fetch=True,  # signals are on the candle -> fill path (one fetch serves all four)
        on_assigned=store.assign, on_revoked=store.revoke, on_handled=store.mark,
    )  # fmt: skip


def run() -> None:
    """Console script ``kwont-risk``: the service, or an admin command (see cli.py)."""
    argv = sys.argv[1:]
    if argv and argv[0] != "serve":
        raise SystemExit(cli.main(argv))
    run_service("risk", setup, RiskSettings)
