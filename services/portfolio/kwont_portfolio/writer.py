"""The gateway's ``portfolios`` documents, written behind the hot path.

Each change of an account queues its latest fields and one equity-curve point; a
background task (every ``every_s``, and on revocation and stop) writes the queued accounts
in one bulk write: for each, one read of its curve (the packed columns of
:mod:`kwont_portfolio.curve`) and an upsert by ``_id`` = account. A write repeats the
newest state, so writing twice, or a replay writing again, is harmless; a failed write
stays queued and is tried again.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

from pymongo import UpdateOne

from kwont_common.state.writebehind import FlushTask
from kwont_portfolio.curve import curve_fields

log = logging.getLogger(__name__)


class Writer:
    """Queued document writes of the accounts this replica owns."""

    def __init__(self, collection: Any, curve_max: int, step_ms: int, every_s: float) -> None:
        self.collection = collection
        self.curve_max, self.step_ms, self.every_s = curve_max, step_ms, every_s
        self._fields: dict[str, dict[str, Any]] = {}
        self._points: dict[str, list[tuple[int, Decimal]]] = {}
        self._lock = asyncio.Lock()
        self._flusher = FlushTask(self.flush, "portfolio documents write", every_s=every_s)
        self.writes = 0

    def queue(
        self, account: str, fields: dict[str, Any], points: list[tuple[int, Decimal]]
    ) -> None:
        """Queue the account's latest ``fields`` (replacing any queued) and its new
        equity-curve ``points`` (added to any queued)."""
        self._fields[account] = fields
        self._points.setdefault(account, []).extend(points)

    @property
    def pending(self) -> int:
        """How many accounts have a write queued."""
        return len(self._fields)

    async def flush(self, only: set[str] | None = None) -> int:
        """Write the queued accounts (of ``only``, if given); how many were written.

        Raises:
            pymongo.errors.PyMongoError: the write failed (the accounts stay queued).
        """
        async with self._lock:
            accounts = [a for a in self._fields if only is None or a in only]
            if not accounts:
                return 0
            fields = {a: self._fields.pop(a) for a in accounts}
            points = {a: self._points.pop(a, []) for a in accounts}
            try:
                curves = {
                    d["_id"]: d
                    async for d in self.collection.find(
                        {"_id": {"$in": accounts}}, {"equity_curve": 1, "curve_open": 1}
                    )
                }
                ops = []
                for a in accounts:
                    doc = dict(curves.get(a) or {})
                    for as_of, equity in points[a]:
                        doc.update(curve_fields(doc, as_of, equity, self.curve_max, self.step_ms))
                    update = {**fields[a], **{k: doc[k] for k in ("equity_curve", "curve_open")}}
                    ops.append(UpdateOne({"_id": a}, {"$set": update}, upsert=True))
                await self.collection.bulk_write(ops, ordered=False)
            except BaseException:
                for a in accounts:  # put back under anything queued meanwhile
                    self._fields.setdefault(a, fields[a])
                    self._points[a] = points[a] + self._points.get(a, [])
                raise
            self.writes += len(ops)
            return len(ops)

    async def start(self) -> None:
        """Start writing in the background (a failed write only delays what the gateway
        shows: retried with backoff)."""
        await self._flusher.start()

    async def stop(self) -> None:
        """Stop the background writes and write what is queued one last time."""
        await self._flusher.stop()
