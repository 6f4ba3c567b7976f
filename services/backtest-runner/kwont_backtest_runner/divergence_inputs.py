"""The live side of a divergence report, read from what the pipeline stored.

``fills`` (written by execution, one document per venue trade) become
:class:`~kwont_quant.divergence_trades.FillRow`\\ s, ``risk_rejections`` (written by risk,
with the deployment's id) become explaining events. The decisions are
:mod:`kwont_quant.divergence`'s; this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from kwont_common.mongo import Database
from kwont_quant.divergence import Event
from kwont_quant.divergence_trades import FillRow, rejection_events

FILLS = "fills"
REJECTIONS = "risk_rejections"


def _range(start_ms: int, end_ms: int) -> dict[str, int]:
    if end_ms <= start_ms:
        raise ValueError(f"the range is empty: end {end_ms} is not after start {start_ms}")
    return {"$gte": start_ms, "$lt": end_ms}


def fill_row(doc: dict[str, Any]) -> FillRow:
    """One stored fill (``Fill`` as JSON: money as decimal strings)."""
    return FillRow(
        symbol=str(doc["symbol"]),
        time_ms=int(doc["event_time"]),
        side=str(doc["side"]),
        quantity=Decimal(str(doc["quantity"])),
        price=Decimal(str(doc["price"])),
        fee=Decimal(str(doc.get("fee", "0"))),
        reduce_only=bool(doc.get("reduce_only")),
    )


async def live_fills(
    db: Database, account: str, symbols: Sequence[str], start_ms: int, end_ms: int
) -> list[FillRow]:
    """The account's fills on ``symbols`` with ``start_ms <= event_time < end_ms``, by time."""
    query = {
        "account": account,
        "symbol": {"$in": list(symbols)},
        "event_time": _range(start_ms, end_ms),
    }
    rows = [fill_row(doc) async for doc in db[FILLS].find(query)]
    return sorted(rows, key=lambda r: (r.time_ms, r.symbol, not r.reduce_only))


async def live_events(db: Database, deployment_id: str, start_ms: int, end_ms: int) -> list[Event]:
    """The deployment's risk rejections in the range (a ``kill_switch*`` code counts as the
    kill switch) as events that explain missed trades."""
    query = {"deployment_id": deployment_id, "event_time": _range(start_ms, end_ms)}
    docs = [
        {"time_ms": d["event_time"], "symbol": d.get("symbol", ""), "code": d.get("code", ""),
         "reason": d.get("reason", "")}
        async for d in db[REJECTIONS].find(query)
    ]  # fmt: skip
    return sorted(rejection_events(docs), key=lambda e: e.time_ms)
