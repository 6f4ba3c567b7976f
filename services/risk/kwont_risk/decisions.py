"""Where the gate's decisions are kept, exactly once (:class:`kwont_risk.gate.Gate` makes
them): a batch of orders goes in flight and into the book's ``decided`` before it is
published, a rejection into ``decided`` before it is published (both in memory, under the
signal's input offset); ``risk_orders`` and ``risk_rejections`` (with the account's owner,
for the API) are written behind. A re-delivered signal finds what was decided for it.
"""

from __future__ import annotations

import logging
from typing import Any

from kwont_common.events import Order, RiskRejection, Signal
from kwont_common.kafka import EventProducer
from kwont_common.trading import ids
from kwont_risk import orders
from kwont_risk.accounts import Directory
from kwont_risk.book import Book
from kwont_risk.metrics import DECISIONS
from kwont_risk.plan import Plan
from kwont_risk.state import BookState
from kwont_risk.stops import StopWatch

log = logging.getLogger(__name__)

ORDERS = "risk_orders"
REJECTIONS = "risk_rejections"


class Decisions:
    """Records and publishes the gate's orders and rejections, and reads a signal's back
    (all in memory; the API's documents are written behind)."""

    def __init__(
        self, book: Book, directory: Directory, producer: EventProducer, stops: StopWatch
    ) -> None:
        self.book = book
        self.directory = directory
        self.producer = producer
        self.stops = stops

    async def stored(self, signal: Signal) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The orders (``[{leg, order}]``) and rejection (``{code, reason}``) decided for
        ``signal`` before (a re-delivery's), from the book."""
        before = self.book.decided(signal.account, signal.event_id.hex)
        legs = before.get("orders") or {}
        return [{"leg": leg, "order": o} for leg, o in legs.items()], before.get("rejection")

    async def send(self, *batch: Order) -> None:
        """In flight and decided (one change of the book), queued for ``risk_orders``, then
        published in order. A batch is one signal's orders."""
        owner = await self.directory.owner(batch[0].account)
        await self.book.put_in_flight(*batch)
        for order in batch:
            self.book.views.insert(ORDERS, order.client_order_id, {
                "order": order.model_dump(mode="json"), "account": order.account,
                "leg": order.client_order_id[1 : order.client_order_id.index("-")],
                "symbol": order.symbol, "signal_id": str(order.signal_id),
                "correlation_id": str(order.correlation_id), "event_time": order.event_time,
                "owner": owner,
            })  # fmt: skip
            self.stops.remember(order)
        for order in batch:
            await self.producer.publish(order)
            log.info(
                "order %s %s %s %s", order.client_order_id, order.side, order.quantity,
                order.symbol,
                extra={"correlation_id": str(order.correlation_id), "account": order.account},
            )  # fmt: skip

    async def apply(self, signal: Signal, plan: Plan) -> None:
        """Carry out ``plan`` (:mod:`kwont_risk.plan`): the orders as one batch, the kill
        switch, the new rejection, then what a re-delivery publishes again."""
        for kind in plan.approved:
            DECISIONS.labels("approved", kind).inc()
        if plan.orders:
            await self.send(*plan.orders)
        if plan.trip is not None:
            await self.book.trip(signal.account, plan.trip, signal.event_time)
        if plan.rejection is not None:
            await self.reject(signal, plan.rejection)
        for event in plan.republish:
            await self.producer.publish(event)

    async def reject(self, signal: Signal, event: RiskRejection) -> None:
        """Record the rejection (queued for the API, with the account's owner), publish it."""
        code, reason = event.code, event.reason
        DECISIONS.labels("rejected", code).inc()
        await self.book.rejected(signal.account, signal.event_id.hex, code, reason)
        self.book.views.insert(REJECTIONS, str(event.event_id), {
            "account": signal.account, "symbol": signal.symbol, "code": code, "reason": reason,
            "signal_id": str(signal.event_id), "correlation_id": str(signal.correlation_id),
            "deployment_id": signal.deployment_id, "event_time": signal.event_time,
            "owner": await self.directory.owner(signal.account),
        })  # fmt: skip
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
    """What was decided for this signal before (a re-delivery): recorded orders by leg,
    orders in flight, and a recorded rejection."""
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
