"""What the paper path stores, written behind it: the fills and order statuses the gateway
and portfolio read (``fills``, ``orders``: :mod:`kwont_execution.outcomes`), the answer to
each order (``exec_orders``: ``{_id: client order id, outcome}``) and the audit
(``execution_audit``, one document per message and order, ``_id`` deterministic).

Every write is an upsert by a deterministic id, so a replay that stores again changes
nothing. One batch at a time: whatever queued while the previous batch was in flight goes
in the next one (no timer: an idle queue writes at once).

The rule that keeps a snapshot honest: an input's offset is marked in the partition store
(:meth:`handled`, the consumer's ``on_handled``) only after the documents its handler
queued are written, so a snapshot never names an input whose fills are not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from pymongo import UpdateOne

from kwont_common.events import Event, Fill, Order, OrderUpdate
from kwont_common.mongo import Database
from kwont_common.state import PartitionStore
from kwont_execution import audit, outcomes
from kwont_execution.outcomes import event_doc

log = logging.getLogger(__name__)
CLAIMS = "exec_orders"


class WriteBehind:
    """The queue of documents to write and of offsets to mark once they are."""

    def __init__(self, db: Database, store: PartitionStore[Any] | None = None) -> None:
        self.db = db
        self.store = store
        self._ops: dict[str, list[Any]] = {}
        self._marks: list[tuple[str, int, int]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._lock = asyncio.Lock()
        self.batches = 0

    def outcome(
        self, events: list[Event], owner: str | None, order: Order | None, audit_id: str,
        request: Any, venue: str = "paper",
    ) -> None:  # fmt: skip
        """Queue the fills and statuses of ``events``, the order's answer and the audit."""
        stored_at = time.time_ns() // 1_000_000
        fills = [e for e in events if isinstance(e, Fill)]
        updates = [e for e in events if isinstance(e, OrderUpdate)]
        extra = {order.client_order_id: outcomes.order_fields(order)} if order else {}
        self._add(outcomes.FILLS, [outcomes.fill_op(f, owner, stored_at) for f in fills])
        self._add(
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
            self._add(CLAIMS, [UpdateOne({"_id": order.client_order_id}, {"$set": answer},
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
        self._add(audit.COLLECTION, [UpdateOne({"_id": audit_id}, {"$setOnInsert": record},
                                               upsert=True)])  # fmt: skip

    def handled(self, topic: str, partition: int, offset: int) -> None:
        """The consumer's ``on_handled``: mark the input once what it queued is written."""
        self._marks.append((topic, partition, offset))
        self._kick()

    def _add(self, collection: str, ops: list[Any]) -> None:
        if ops:
            self._ops.setdefault(collection, []).extend(ops)
            self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def written(self) -> None:
        """Return once everything queued so far is written."""
        while self._ops or self._marks or self._lock.locked():
            await self.flush()

    async def flush(self) -> None:
        """Write one batch (all queued), then mark its inputs.

        Raises:
            pymongo.errors.PyMongoError: a write failed (the batch is queued again).
        """
        async with self._lock:
            ops, marks = self._ops, self._marks
            self._ops, self._marks = {}, []
            try:
                await asyncio.gather(
                    *(outcomes.write(self.db[name], batch) for name, batch in ops.items())
                )
            except BaseException:
                for name, batch in ops.items():
                    self._ops.setdefault(name, [])[:0] = batch
                self._marks[:0] = marks
                raise
            if ops:
                self.batches += 1
            if self.store is not None:
                for mark in marks:
                    self.store.mark(*mark)
            if not self._ops and not self._marks:
                self._idle.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Service task: write whatever is queued, as it comes; at the end, the rest."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.warning("writing paper outcomes failed; retrying", exc_info=True)
                await asyncio.sleep(0.2)
        await self.written()
