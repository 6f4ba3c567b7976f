"""Where the gate's decisions are kept, exactly once (:class:`kwont_risk.gate.Gate` makes
them): a batch of orders goes in flight and into ``risk_orders`` before it is published, a
rejection into ``risk_rejections`` (with the account's owner, for the API) before it is
published; and what a re-delivered signal finds decided for it before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymongo import UpdateOne

from kwont_common.events import Order, RiskRejection, Signal
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from kwont_common.trading import ids
from kwont_risk import orders
from kwont_risk.accounts import Directory
from kwont_risk.book import Book
from kwont_risk.metrics import DECISIONS
from kwont_risk.state import BookState
from kwont_risk.stops import StopWatch

log = logging.getLogger(__name__)

ORDERS = "risk_orders"
REJECTIONS = "risk_rejections"


class Decisions:
    """Stores and publishes the gate's orders and rejections, and reads a signal's back."""

    def __init__(
        self,
        db: Database,
        book: Book,
        directory: Directory,
        producer: EventProducer,
        stops: StopWatch,
    ) -> None:
        self.db = db
        self.book = book
        self.directory = directory
        self.producer = producer
        self.stops = stops

    async def stored(self, signal: Signal) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The stored orders and rejection of ``signal`` (a re-delivery's)."""
        stored, doc = await asyncio.gather(
            self.db[ORDERS].find({"_id": {"$in": _leg_ids(signal)}}).to_list(None),
            self.db[REJECTIONS].find_one({"_id": str(orders.rejection_id(signal))}),
        )
        return stored, doc

    async def send(self, *batch: Order) -> None:
        """In flight (the batch in one write) and stored, then published in order. Each
        step is idempotent and a re-delivered signal repeats both writes (it finds its
        orders by either), so the two writes go at once. The batch is stored by one ordered
        bulk write, so a crash can leave the closing order stored without the entry (the
        re-delivery then waits for it and decides the entry again) but never the entry
        without its closing order. A batch is one signal's orders."""
        owner = await self.directory.owner(batch[0].account)

        def doc(order: Order) -> dict[str, Any]:
            return {
                "order": order.model_dump(mode="json"), "account": order.account,
                "leg": order.client_order_id[1 : order.client_order_id.index("-")],
                "symbol": order.symbol, "signal_id": str(order.signal_id),
                "correlation_id": str(order.correlation_id), "event_time": order.event_time,
                "owner": owner,
            }  # fmt: skip

        stored = [
            UpdateOne({"_id": order.client_order_id}, {"$setOnInsert": doc(order)}, upsert=True)
            for order in batch
        ]
        await asyncio.gather(
            self.book.put_in_flight(*batch), self.db[ORDERS].bulk_write(stored, ordered=True)
        )
        for order in batch:
            self.stops.remember(order)
        for order in batch:
            await self.producer.publish(order)
            log.info(
                "order %s %s %s %s", order.client_order_id, order.side, order.quantity,
                order.symbol,
                extra={"correlation_id": str(order.correlation_id), "account": order.account},
            )  # fmt: skip

    async def reject(self, signal: Signal, code: str, reason: str) -> None:
        """Store the rejection (for the API, with the account's owner), then publish it."""
        event = orders.rejection(signal, code, reason)
        DECISIONS.labels("rejected", code).inc()
        doc = {
            "account": signal.account, "symbol": signal.symbol, "code": code, "reason": reason,
            "signal_id": str(signal.event_id), "correlation_id": str(signal.correlation_id),
            "deployment_id": signal.deployment_id, "event_time": signal.event_time,
            "owner": await self.directory.owner(signal.account),
        }  # fmt: skip
        await self.db[REJECTIONS].update_one(
            {"_id": str(event.event_id)}, {"$setOnInsert": doc}, upsert=True
        )
        await self.producer.publish(event)
        log.info(
            "rejected %s %s: %s", signal.symbol, code, reason,
            extra={"correlation_id": str(signal.correlation_id), "account": signal.account},
        )  # fmt: skip


def decided(
    signal: Signal,
    state: BookState,
    stored: list[dict[str, Any]],
    doc: dict[str, Any] | None,
) -> tuple[dict[str, Order], RiskRejection | None]:
    """What was decided for this signal before (a re-delivery): stored orders by leg,
    orders in flight that a crash kept from being stored, and a stored rejection."""
    made: dict[str, Order] = {}
    coids = _leg_ids(signal)
    for found in stored:
        made[found["leg"]] = Order.model_validate(found["order"])
    for coid, record in (state.in_flight.get(signal.symbol) or {}).items():
        if coid in coids and record.get("leg") not in made:
            made[record["leg"]] = Order.model_validate(record["order"])
    if doc is None:
        return made, None
    return made, orders.rejection(signal, doc["code"], doc["reason"])


def _leg_ids(signal: Signal) -> list[str]:
    """Client order ids of the signal's closing (``x``) and entry (``e``) orders."""
    return [ids.client_order_id(signal.event_id, leg) for leg in ("x", "e")]
