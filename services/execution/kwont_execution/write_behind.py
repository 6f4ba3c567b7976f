"""What the paper path stores, written behind it: the fills and order statuses the gateway
and portfolio read (``fills``, ``orders``: :mod:`kwont_execution.outcomes`), the answer to
each order (``exec_orders``: ``{_id: client order id, outcome}``) and the audit
(``execution_audit``, one document per message and order, ``_id`` deterministic).

The queue, the batches, the retries and the marking of inputs are
:class:`kwont_common.state.writebehind.WriteBehind`'s: every write is an upsert by a
deterministic id (a replay that stores again changes nothing), one batch at a time and no
timer (an idle queue writes at once), and an input's offset is marked in the partition
store only after the documents its handler queued are written, so a snapshot never names
an input whose fills are not stored.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo import UpdateOne

from kwont_common.events import Event, Fill, Order, OrderUpdate
from kwont_common.mongo import Database
from kwont_common.state import PartitionStore
from kwont_common.state.writebehind import WriteBehind as Shared
from kwont_execution import audit, outcomes
from kwont_execution.outcomes import event_doc

CLAIMS = "exec_orders"


class WriteBehind(Shared):
    """The queue of execution's documents to write and of offsets to mark once they are."""

    def __init__(self, db: Database, store: PartitionStore[Any] | None = None) -> None:
        super().__init__(db, every_s=1.0, eager=True, store=store, write=outcomes.write)

    def outcome(
        self, events: list[Event], owner: str | None, order: Order | None, audit_id: str,
        request: Any, venue: str = "paper",
    ) -> None:  # fmt: skip
        """Queue the fills and statuses of ``events``, the order's answer and the audit."""
        stored_at = time.time_ns() // 1_000_000
        fills = [e for e in events if isinstance(e, Fill)]
        updates = [e for e in events if isinstance(e, OrderUpdate)]
        extra = {order.client_order_id: outcomes.order_fields(order)} if order else {}
        self.add(outcomes.FILLS, [outcomes.fill_op(f, owner, stored_at) for f in fills])
        self.add(
            outcomes.ORDERS,
            [outcomes.update_op(u, owner, extra.get(u.client_order_id, {}), stored_at)
             for u in updates],
        )  # fmt: skip
        docs = [event_doc(e) for e in events]
        if order is not None:
            answer = {"venue": venue, "account": order.account, "symbol": order.symbol,
                      "correlation_id": str(order.correlation_id),
                      "order": order.model_dump(mode="json"), "outcome": docs,
                      "done_at": stored_at}  # fmt: skip
            self.add(CLAIMS, [UpdateOne({"_id": order.client_order_id}, {"$set": answer},
                                        upsert=True)])  # fmt: skip
        first = events[0] if events else None
        record = {
            "time": stored_at, "venue": venue,
            "account": getattr(first, "account", order.account if order else None),
            "symbol": getattr(first, "symbol", order.symbol if order else None),
            "client_order_id": order.client_order_id if order else
            getattr(first, "client_order_id", None),
            "correlation_id": str(order.correlation_id if order else
                                  getattr(first, "correlation_id", "")),
            "request": request, "response": docs,
        }  # fmt: skip
        self.add(audit.COLLECTION, [UpdateOne({"_id": audit_id}, {"$setOnInsert": record},
                                              upsert=True)])  # fmt: skip
