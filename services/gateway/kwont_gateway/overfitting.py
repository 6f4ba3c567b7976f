"""The overfitting guards of a finished grid search: PSR and DSR of its winner and the PBO of
the whole search (:mod:`kwont_quant.overfitting`), from the per-block return moments every
shard stored with its ranking rows. Computed once, off the event loop, then kept on the
``optimizations`` document."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from kwont_gateway.state import Gateway


def compute(ranking: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Guards of ``ranking`` (every row of the search, best first); None when a row has no
    moments (a result from before they were stored, or too few bars) or they disagree."""
    from kwont_quant.overfitting import guards_of

    blocks = [row.get("moments") for row in ranking]
    if not blocks or any(not isinstance(b, list) for b in blocks):
        return None
    try:
        stacked = np.asarray(blocks, dtype=np.float64)
        if stacked.ndim != 3 or not np.isfinite(stacked).all():
            return None
        return guards_of(stacked.transpose(1, 0, 2), 0).to_dict()
    except ValueError:  # ragged or malformed rows: no guards rather than a 500
        return None


async def of_search(
    gw: Gateway, doc: dict[str, Any], ranking: list[dict[str, Any]], complete: bool
) -> dict[str, Any] | None:
    """The stored guards of optimization ``doc``, computed and stored when the search is
    ``complete`` (every shard succeeded) and they are not there yet; None before that."""
    if doc.get("guards") is not None:
        return dict(doc["guards"])
    if not complete or len(ranking) != doc.get("combinations"):
        return None
    guards = await asyncio.to_thread(compute, ranking)
    if guards is not None:
        await gw.write.optimizations.update_one({"_id": doc["_id"]}, {"$set": {"guards": guards}})
    return guards
