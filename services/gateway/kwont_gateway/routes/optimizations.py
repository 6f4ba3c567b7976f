"""``/optimizations``: grid searches sharded over the runner replicas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from kwont_gateway import optimizations, paging
from kwont_gateway.deps import GatewayDep, Reader, Submitter, Trader
from kwont_gateway.models.optimizations import (
    OptimizationAccepted,
    OptimizationCreate,
    OptimizationPublic,
)
from kwont_gateway.paging import Page
from kwont_gateway.routes.backtests import CONFLICT

router = APIRouter(prefix="/optimizations", tags=["optimizations"])


@router.post("", response_model=OptimizationAccepted, status_code=status.HTTP_202_ACCEPTED)
async def submit_optimization(
    gw: GatewayDep, principal: Submitter, body: OptimizationCreate
) -> dict[str, Any]:
    """Expand the grid, split it into shards and queue one job per shard."""
    return await optimizations.submit(gw, principal, body)


@router.get("", response_model=list[OptimizationPublic])
async def list_optimizations(
    gw: GatewayDep,
    principal: Reader,
    page: Annotated[Page, paging.query(paging.OPTIMIZATIONS)],
) -> list[dict[str, Any]]:
    """Your grid searches, newest first, with their top rows."""
    cursor = (
        gw.read.optimizations.find({"owner": principal.user_id}, {"_id": 1})
        .sort("submitted_at", -1)
        .limit(page.limit)
    )
    return [await optimizations.show(gw, principal, d["_id"], top=5) async for d in cursor]


@router.get("/{optimization_id}", response_model=OptimizationPublic)
async def get_optimization(
    gw: GatewayDep,
    principal: Reader,
    optimization_id: str,
    top: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> dict[str, Any]:
    """Progress (shards done) and the ranked table, best objective first."""
    return await optimizations.show(gw, principal, optimization_id, top)


@router.delete(
    "/{optimization_id}",
    response_model=OptimizationPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=CONFLICT,
)
async def cancel_optimization(
    gw: GatewayDep, principal: Trader, optimization_id: str
) -> dict[str, Any]:
    """Cancel every unfinished shard."""
    return await optimizations.cancel(gw, principal, optimization_id)
