"""``/deployments/{id}/divergence``: live versus backtest reports of a deployment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from kwont_gateway import divergence
from kwont_gateway.deps import GatewayDep, Reader, Submitter
from kwont_gateway.models.divergence import DivergenceAccepted, DivergenceCreate, DivergencePublic

router = APIRouter(prefix="/deployments", tags=["deployments"])


@router.post(
    "/{deployment_id}/divergence",
    response_model=DivergenceAccepted,
    status_code=status.HTTP_202_ACCEPTED,
)
async def submit_divergence(
    gw: GatewayDep, principal: Submitter, deployment_id: str, body: DivergenceCreate
) -> dict[str, Any]:
    """Queue a divergence report: the deployment's strategy version and parameters re-run
    on the stored candles of the range, aligned with its live trades (docs/divergence.md).
    Poll `links.self`."""
    return await divergence.submit(gw, principal, deployment_id, body)


@router.get("/{deployment_id}/divergence", response_model=list[DivergencePublic])
async def list_divergence(
    gw: GatewayDep, principal: Reader, deployment_id: str
) -> list[dict[str, Any]]:
    """The deployment's divergence jobs, newest first (at most 100), without the reports."""
    return await divergence.find(gw, principal, deployment_id)


@router.get("/{deployment_id}/divergence/{job_id}", response_model=DivergencePublic)
async def get_divergence(
    gw: GatewayDep, principal: Reader, deployment_id: str, job_id: str
) -> dict[str, Any]:
    """Status and progress of a divergence job, and its report once it succeeded."""
    return await divergence.get(gw, principal, deployment_id, job_id)
