"""An admin's kill-switch reset, as a stored request the owner picks up.

``kwont-risk reset-kill-switch ACCOUNT`` upserts ``{_id: account, reset_at, by}`` into
``risk_kill_switch_resets``; the risk replica that owns the account's partition reads the
requests every ``reset_poll_s`` (one small query, off the signal path) and applies one
whose ``reset_at`` is newer than the book's: entries pass again, and the day-start and peak
equity restart from the current equity (otherwise the breach that tripped the switch would
trip it again on the next entry). The book keeps ``reset_at``, so a request is applied once
even when it is read again, and again after a crash that lost the change (the snapshot
predates it). The CLI waits until the ``risk_books`` view shows the reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kwont_common.events import now_ms
from kwont_common.mongo import Database
from kwont_common.state import PartitionStore
from kwont_risk.book import Book
from kwont_risk.documents import COLLECTION, Books, setter
from kwont_risk.state import BookState, KillSwitch

log = logging.getLogger(__name__)

RESETS = "risk_kill_switch_resets"


def reset_fields(
    state: BookState, doc: dict[str, Any], reset_at: int, by: str | None
) -> dict[str, Any]:
    """The change a reset request makes to a book (empty: applied before)."""
    if int(doc.get("reset_at") or 0) >= reset_at:
        return {}
    if not state.kill_switch.tripped:
        return {"reset_at": reset_at}
    equity = str(state.current_equity())
    switch = {**KillSwitch().to_doc(), "reset_at": reset_at, "reset_by": by}
    return {"reset_at": reset_at, "kill_switch": switch, "equity": equity,
            "day_start_equity": equity, "peak_equity": equity}  # fmt: skip


async def apply_requests(db: Database, store: PartitionStore[Books], book: Book) -> int:
    """Apply the stored requests of the accounts this replica owns; return how many."""
    requests = await db[RESETS].find({}).to_list(None)
    applied = 0
    for request in requests:
        account, reset_at = str(request["_id"]), int(request["reset_at"])
        for p in sorted(store.owned):
            doc = store.state(p).get(account)
            if doc is None:
                continue
            cash = (await book.directory.account(account)).cash
            fields = reset_fields(BookState.from_doc(doc, cash), doc, reset_at, request.get("by"))
            if fields:
                store.touch(p, setter(doc, fields))
                book.changed(account, doc)
                applied += 1
                log.info("kill switch of %s reset by %s", account, request.get("by"))
    return applied


async def poll(db: Database, store: PartitionStore[Books], book: Book, every_s: float,
               stop: asyncio.Event) -> None:  # fmt: skip
    """The service task that picks up reset requests."""
    while not stop.is_set():
        try:
            await apply_requests(db, store, book)
        except Exception:  # a missed poll only delays the reset
            log.exception("reading kill-switch resets failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def request_reset(db: Database, account: str, by: str | None, wait_s: float) -> str:
    """Store a reset request for a tripped switch and wait until the owner applied it.

    Returns ``"reset"``, ``"not tripped"`` or ``"requested"`` (not applied within
    ``wait_s``: no risk replica owns the account now; it is applied when one does).
    """
    view = await db[COLLECTION].find_one({"_id": account}, {"kill_switch": 1}) or {}
    if not (view.get("kill_switch") or {}).get("tripped"):
        return "not tripped"
    reset_at = now_ms()
    await db[RESETS].update_one(
        {"_id": account}, {"$set": {"reset_at": reset_at, "by": by}}, upsert=True
    )
    deadline = asyncio.get_running_loop().time() + wait_s
    while asyncio.get_running_loop().time() < deadline:
        view = await db[COLLECTION].find_one({"_id": account}, {"reset_at": 1}) or {}
        if int(view.get("reset_at") or 0) >= reset_at:
            return "reset"
        await asyncio.sleep(0.2)
    return "requested"
