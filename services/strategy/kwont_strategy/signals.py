"""From one bar's reading to a ``Signal``, and its idempotent record in ``signals``.

Stops: a strategy's stop is ``pct`` (a fraction of the entry price, as the engine anchors
it at the fill) or ``distance`` (a price distance; ATR stops arrive resolved to one). The
signal carries both forms:

- ``stop_loss_pct`` / ``take_profit_pct``: the fraction of the entry price. A ``distance``
  is converted to a fraction of the reference price (the signal candle's close), so
  anchored at a fill at that price it gives the engine's level exactly, and at another
  fill price (slippage, a later tick) it scales with the fill;
- ``stop_loss`` / ``take_profit``: the absolute prices for an entry at the reference price.

A level at or below zero can never trigger (a long's stop or a short's take-profit farther
than the price itself): it is left out, as the engine would never hit it. A short's stop
loss 100 % or more away has no fraction form (the event bounds it below 1) and travels as
a price only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Literal

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from kwont_common.events import Candle, Signal
from kwont_common.mongo import Database
from kwont_common.trading.ids import signal_id
from kwont_quant import BarSignal
from kwont_quant.live import Intent
from kwont_strategy.deployments import Deployment

log = logging.getLogger(__name__)

COLLECTION = "signals"
PROGRESS = "strategy_progress"
"""Per ``deployment:SYMBOL:interval``, ``open_time`` of the newest candle evaluated (its
signal, if any, stored). The paper venue holds a stop until the candles before it are
evaluated (kwont_execution.stop_gate)."""


async def ensure_indexes(db: Database) -> None:
    """Indexes of the API's reads of ``signals`` (the caller's, newest first; by deployment).

    Raises:
        pymongo.errors.PyMongoError: index creation failed.
    """
    await db[COLLECTION].create_index([("owner", 1), ("event_time", -1)], name="owner_time")
    await db[COLLECTION].create_index(
        [("deployment_id", 1), ("event_time", -1)], name="deployment_time"
    )


def stop_fields(bar: BarSignal, action: str, price: float) -> dict[str, float]:
    """``stop_loss``/``take_profit`` (prices) and their ``_pct`` forms of an entry at
    ``price``; empty for an exit."""
    if action not in ("enter_long", "enter_short"):
        return {}
    side: Literal["long", "short"] = "long" if action == "enter_long" else "short"
    out: dict[str, float] = {}
    for name, kind, value, level in (
        ("stop_loss", bar.stop_loss_kind, bar.stop_loss_value, bar.stop_loss_price(price, side)),
        (
            "take_profit",
            bar.take_profit_kind,
            bar.take_profit_value,
            bar.take_profit_price(price, side),
        ),
    ):
        if kind is None or value is None or level is None or not level > 0:
            continue
        out[name] = level
        pct = value if kind == "pct" else value / price
        if pct > 0 and (name == "take_profit" or pct < 1):
            out[f"{name}_pct"] = pct
    return out


def build(dep: Deployment, candle: Candle, bar: BarSignal, intent: Intent, source: str) -> Signal:
    """The deployment's signal on ``candle``: deterministic id, correlation id = id."""
    ident = signal_id(dep.id, candle.symbol, candle.interval, candle.open_time)
    entering = intent.action != "exit"
    return Signal(
        event_id=ident,
        correlation_id=ident,
        event_time=candle.close_time,
        source=source,
        account=dep.account,
        symbol=candle.symbol,
        deployment_id=dep.id,
        strategy=dep.strategy_name,
        interval=candle.interval,
        action=intent.action,
        exit_side=intent.exit_side,
        candle_open_time=candle.open_time,
        reference_price=candle.close,
        venue=dep.venue,
        size_hint=bar.size if entering and 0 < bar.size < 1 else None,
        **stop_fields(bar, intent.action, candle.close),
    )


async def record(db: Database, signal: Signal, owner: str) -> Signal:
    """Store ``signal`` under its id unless already there; return the stored one.

    A redelivered candle recomputes the same signal; the first copy (its ``produced_at``
    included) is what gets published again, so every copy on the topic is identical.

    Raises:
        pymongo.errors.PyMongoError: the write failed.
    """
    doc: dict[str, Any] = {**signal.model_dump(mode="json"), "owner": owner}
    key = {"_id": doc["event_id"]}
    stored: dict[str, Any] | None
    try:
        stored = await db[COLLECTION].find_one_and_update(
            key, {"$setOnInsert": doc}, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:  # two replicas upserting at once during a rebalance
        stored = await db[COLLECTION].find_one(key)
    if stored is None or stored.get("produced_at") == doc["produced_at"]:
        return signal
    return Signal.model_validate(stored)


def progress_id(deployment_id: str, symbol: str, interval: str) -> str:
    """``_id`` of a deployment's progress on one symbol and interval."""
    return f"{deployment_id}:{symbol}:{interval}"


class Progress:
    """Which candle each deployment evaluated last, written behind: ``mark`` after a
    candle's signals are stored, one ``bulk_write`` per ``flush_s`` for everything marked
    (progress only ever lags the truth, so a reader waits a little longer, never less).
    A crash loses unwritten marks; the redelivered candles mark them again."""

    def __init__(self, db: Database, flush_s: float) -> None:
        self.db = db
        self.flush_s = flush_s
        self._due: dict[str, int] = {}

    def mark(self, deployment_ids: list[str], candle: Candle) -> None:
        """Note that the deployments evaluated candle; the next flush writes it."""
        for d in deployment_ids:
            key = progress_id(d, candle.symbol, candle.interval)
            self._due[key] = max(self._due.get(key, candle.open_time), candle.open_time)

    async def flush(self) -> None:
        """Write what was marked since the last flush.

        Raises:
            pymongo.errors.PyMongoError: the write failed (the marks are kept for the next).
        """
        due, self._due = self._due, {}
        if not due:
            return
        try:
            await self.db[PROGRESS].bulk_write(
                [
                    UpdateOne({"_id": k}, {"$max": {"open_time": t}}, upsert=True)
                    for k, t in due.items()
                ],
                ordered=False,
            )
        except Exception:
            for k, t in due.items():
                self._due[k] = max(self._due.get(k, t), t)
            raise

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every ``flush_s`` until ``stop``, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.flush_s)
            try:
                await self.flush()
            except Exception as exc:  # kept; the next flush tries again
                log.warning("strategy progress not written yet: %s", exc)
