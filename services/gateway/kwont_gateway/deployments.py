"""Deployments: live or paper instances of a strategy on an account (collection
``deployments``, read by the strategy service)."""

from __future__ import annotations

from typing import Any

from kwont_gateway import strategies
from kwont_gateway.errors import ApiError, invalid, not_found, owned
from kwont_gateway.models.trading import DeploymentCreate
from kwont_gateway.principal import Principal
from kwont_gateway.security import new_id
from kwont_gateway.state import Gateway
from kwont_gateway.users import now


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A deployments document as the API shows it (DeploymentPublic)."""
    return {
        "id": doc["_id"],
        "account": doc["account"],
        "strategy": doc["strategy"],
        "version": doc.get("version"),
        "params": doc.get("params") or {},
        "symbols": doc.get("symbols") or [],
        "interval": doc["interval"],
        "venue": doc["venue"],
        "status": doc["status"],
        "created_at": doc["created_at"],
        "stopped_at": doc.get("stopped_at"),
    }


async def create(gw: Gateway, principal: Principal, body: DeploymentCreate) -> dict[str, Any]:
    """Validate and store a running deployment.

    Raises:
        ApiError: 404 foreign strategy; 422 bad params or unknown symbols; 409 when the
            account belongs to another user.
    """
    ref, params, _ = await strategies.resolve(
        gw, principal, body.strategy, body.version, body.params
    )
    names = [s.upper() for s in body.symbols]
    known = {
        d["symbol"] async for d in gw.read.symbols.find({"symbol": {"$in": names}}, {"symbol": 1})
    }
    unknown = [n for n in names if n not in known]
    if unknown:
        raise invalid(f"unknown symbols: {', '.join(unknown)}", "symbols")
    taken = {"account": body.account, "owner": {"$ne": principal.user_id}}
    if await gw.read.deployments.find_one(taken, {"_id": 1}) or await gw.read.portfolios.find_one(
        taken, {"_id": 1}
    ):
        raise ApiError(409, "conflict", f"account name {body.account!r} is taken; choose another")
    doc = {
        "_id": new_id("dep"),
        "owner": principal.user_id,
        "account": body.account,
        "strategy": body.strategy,
        "strategy_ref": ref.model_dump(mode="json"),
        "version": ref.version,
        "params": params,
        "symbols": names,
        "interval": body.interval,
        "venue": body.venue,
        "status": "running",
        "created_at": now(),
        "stopped_at": None,
    }
    await gw.write.deployments.insert_one(doc)
    return doc


async def find(
    gw: Gateway, principal: Principal, status: str | None = None
) -> list[dict[str, Any]]:
    """The caller's deployments (running, stopped or all), newest first, at most 500."""
    q: dict[str, Any] = {"owner": principal.user_id}
    if status:
        q["status"] = status
    return [d async for d in gw.read.deployments.find(q).sort("created_at", -1).limit(500)]


async def get(gw: Gateway, principal: Principal, dep_id: str) -> dict[str, Any]:
    """The caller's deployment dep_id; a 404 when it is missing or someone else's."""
    return await owned(gw.read.deployments, "deployment", dep_id, principal.user_id)


async def stop(gw: Gateway, principal: Principal, dep_id: str) -> dict[str, Any]:
    """Mark a deployment stopped (the strategy service stops emitting signals for it)."""
    doc = await gw.write.deployments.find_one_and_update(
        {"_id": dep_id, "owner": principal.user_id},
        {"$set": {"status": "stopped", "stopped_at": now()}},
        return_document=True,
    )
    if doc is None:
        raise not_found("deployment", dep_id)
    return dict(doc)
