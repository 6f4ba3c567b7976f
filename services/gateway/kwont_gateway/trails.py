"""Trails: what one signal caused, by correlation id. A strategy's signal starts the chain
(its ``correlation_id`` is its own id); the risk gate either refuses it (a rejection with
the rule and the reason) or turns it into orders, and the venue fills them. Every record of
the chain carries the signal's id as ``correlation_id`` (docs/architecture.md), so a trail
is four reads by ``(owner, correlation_id)``."""

from __future__ import annotations

from typing import Any

from kwont_gateway import portfolio
from kwont_gateway.errors import not_found
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway

PARTS = ("rejections", "orders", "fills")
COLLECTIONS = {"rejections": "risk_rejections", "orders": "orders", "fills": "fills"}
PER_PART = 200  # a signal makes a handful of orders; this only bounds a runaway chain


def outcome(trail: dict[str, Any]) -> str:
    """One word for the chain: ``rejected``, ``filled``, ``ordered`` or ``pending`` (the
    risk gate has not answered yet, or it answered on a topic not stored yet)."""
    if trail["rejections"]:
        return "rejected"
    if trail["fills"]:
        return "filled"
    if trail["orders"]:
        return "ordered"
    return "pending"


def assemble(
    ids: list[str], signals: list[dict[str, Any]], parts: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The trails of ``ids`` in that order: each id's signal (or None) and its rejections,
    orders and fills oldest first, from stored documents (``_id`` and ``owner`` dropped)."""
    by_id = {str(s["_id"]): s for s in signals}
    trails = []
    for cid in ids:
        signal = by_id.get(cid)
        trail: dict[str, Any] = {
            "correlation_id": cid,
            "signal": None if signal is None else {
                "event_id": str(signal["_id"]), **portfolio.ledger_public(signal)
            },
        }  # fmt: skip
        for part in PARTS:
            docs = [d for d in parts[part] if str(d.get("correlation_id")) == cid]
            docs.sort(key=lambda d: (d.get("event_time") or 0, str(d["_id"])))
            trail[part] = [
                {"event_id": str(d["_id"]), **portfolio.ledger_public(d)}
                if part == "rejections" else portfolio.ledger_public(d)
                for d in docs
            ]  # fmt: skip
        trail["outcome"] = outcome(trail)
        trails.append(trail)
    return trails


async def _parts(
    gw: Gateway, principal: Principal, ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    q = {"owner": principal.user_id, "correlation_id": {"$in": ids}}
    limit = PER_PART * len(ids)
    return {
        part: [d async for d in gw.read[COLLECTIONS[part]].find(q).limit(limit)] for part in PARTS
    }


async def trail(gw: Gateway, principal: Principal, correlation_id: str) -> dict[str, Any]:
    """The chain of one correlation id.

    Raises:
        ApiError: 404 when none of the caller's records carries it.
    """
    signal = await gw.read.signals.find_one({"owner": principal.user_id, "_id": correlation_id})
    parts = await _parts(gw, principal, [correlation_id])
    if signal is None and not any(parts.values()):
        raise not_found("trail", correlation_id)
    return assemble([correlation_id], [signal] if signal else [], parts)[0]


async def latest(
    gw: Gateway,
    principal: Principal,
    account: str | None,
    deployment: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """The trails of the caller's latest signals (of one account or deployment), newest
    first."""
    q = portfolio.ledger_query(principal, account, None, None)
    if deployment:
        q["deployment_id"] = deployment
    cursor = (
        gw.read.signals.find(q).sort([("event_time", -1), ("_id", -1)]).skip(offset).limit(limit)
    )
    signals = [d async for d in cursor]
    ids = [str(s["_id"]) for s in signals]
    if not ids:
        return []
    return assemble(ids, signals, await _parts(gw, principal, ids))
