"""Documents the API reads, written behind the hot path: a decision puts its write here (no
I/O) and a background task writes what is queued every ``every_s``, one unordered bulk
write per collection. Writes are upserts by a deterministic ``_id`` (idempotent), so a
replay after a crash writes the same documents again; a ``$set`` queued for an ``_id``
that is still waiting replaces the older one (only the latest view is written).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pymongo import UpdateOne

from kwont_common.mongo import Database

log = logging.getLogger(__name__)


class WriteBehind:
    """Queued upserts per collection and ``_id``."""

    def __init__(self, db: Database, every_s: float = 0.2) -> None:
        self.db = db
        self.every_s = every_s
        self._queued: dict[str, dict[Any, dict[str, Any]]] = {}
        self._lock = asyncio.Lock()
        self.written = 0

    def insert(self, collection: str, _id: Any, doc: dict[str, Any]) -> None:
        """Insert ``doc`` once (``$setOnInsert``): a decision, never changed after."""
        self._queued.setdefault(collection, {}).setdefault(_id, {"$setOnInsert": doc})

    def put(self, collection: str, _id: Any, fields: dict[str, Any]) -> None:
        """Set ``fields`` (``$set``, the latest queued wins): a view of changing state."""
        self._queued.setdefault(collection, {})[_id] = {"$set": fields}

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queued.values())

    async def flush(self) -> int:
        """Write what is queued; what fails stays queued (unless newer was queued since).

        Raises:
            pymongo.errors.PyMongoError: a bulk write failed.
        """
        async with self._lock:
            queued, self._queued = self._queued, {}
            done = 0
            try:
                for name, updates in queued.items():
                    ops = [UpdateOne({"_id": i}, u, upsert=True) for i, u in updates.items()]
                    await self.db[name].bulk_write(ops, ordered=False)
                    done += len(ops)
                    queued[name] = {}
            finally:
                for name, updates in queued.items():
                    for i, update in updates.items():
                        self._queued.setdefault(name, {}).setdefault(i, update)
            self.written += done
            return done

    async def run(self, stop: asyncio.Event) -> None:
        """The background writer (a service task); writes once more when stopping."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every_s)
            try:
                await self.flush()
            except Exception:  # only delays what the API sees; try again
                log.exception("write-behind failed; retrying")
