"""Wiring and lifecycle of the notifier service.

One consumer in the service's group (``kwont-notifier``) reads ``fills``,
``risk-rejections`` and ``backtest-results`` as any outside team would, and delivers what
each event is worth telling (:mod:`kwont_notifier.kinds`) to the subscriptions it concerns
(:mod:`kwont_notifier.dispatch`). Two tasks: the digest of what the rate limit held back,
and the poller of test sends and deployment errors. Delivery records are claimed before
sending, so a replayed event is not told twice.
"""

from __future__ import annotations

import asyncio
import uuid

from kwont_common.events import BacktestResult, Fill, RiskRejection
from kwont_common.kafka import account_of_key
from kwont_common.mongo import Database
from kwont_common.service import Runtime, Wiring, run_service
from kwont_notifier import kinds
from kwont_notifier.channels import Channels
from kwont_notifier.deliveries import Deliveries
from kwont_notifier.digests import Digests
from kwont_notifier.dispatch import Dispatcher
from kwont_notifier.polling import Poller
from kwont_notifier.settings import NotifierSettings
from kwont_notifier.subscriptions import Subscriptions

TERMINAL = ("succeeded", "failed", "cancelled")


async def optimization_done(db: Database, result: BacktestResult) -> kinds.Notice | None:
    """The ``optimization_finished`` notice once this shard's result is the last one in."""
    opt = await db.optimizations.find_one({"_id": result.optimization_id}, {"job_ids": 1})
    if opt is None or not opt.get("job_ids"):
        return None
    statuses = {
        str(d["_id"]): str(d.get("status"))
        async for d in db.backtests.find({"_id": {"$in": opt["job_ids"]}}, {"status": 1})
    }
    statuses[result.job_id] = result.status
    if len(statuses) < len(opt["job_ids"]) or any(s not in TERMINAL for s in statuses.values()):
        return None
    opt_id = str(result.optimization_id)
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kwont:optimization-finished:{opt_id}"))
    return kinds.of_optimization(event_id, opt_id, statuses, result.event_time)


def build(settings: NotifierSettings, db: Database) -> Dispatcher:
    """The dispatcher over ``db`` with this process's channels."""
    return Dispatcher(settings, Deliveries(db), Subscriptions(db), Channels(settings))


async def setup(runtime: Runtime) -> Wiring:
    """Handlers and tasks of this service."""
    settings = runtime.settings
    if not isinstance(settings, NotifierSettings):  # serve() given plain Settings
        settings = NotifierSettings.model_validate(settings.model_dump())
    db = (await runtime.mongo()).write
    dispatcher = build(settings, db)
    await dispatcher.deliveries.ensure_indexes()
    digests, poller = Digests(dispatcher), Poller(dispatcher)

    async def on_fill(fill: Fill) -> None:
        await dispatcher.notify(kinds.of_fill(fill))

    async def on_rejection(rejection: RiskRejection) -> None:
        await dispatcher.notify(kinds.of_rejection(rejection))

    async def on_result(result: BacktestResult) -> None:
        notice = kinds.of_result(result)
        if notice is None and result.optimization_id is not None:
            notice = await optimization_done(db, result)
        if notice is not None:
            await dispatcher.notify(notice)

    async def digest_loop(stop: asyncio.Event) -> None:
        await digests.run(stop)

    async def poll_loop(stop: asyncio.Event) -> None:
        await poller.run(stop)

    return Wiring(
        handlers={"fills": on_fill, "risk-rejections": on_rejection, "backtest-results": on_result},
        tasks=[digest_loop, poll_loop],
        on_stop=[dispatcher.channels.close],
        concurrency=settings.consumer_concurrency,
        # one account's events in order; another account's wait for none of them
        ordering={"fills": account_of_key, "risk-rejections": account_of_key},
        background_fetch=True,
    )


def run() -> None:
    """Console script ``kwont-notifier``."""
    run_service("notifier", setup, NotifierSettings)
