"""``/deployments``: live and paper strategy instances."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status

from kwont_gateway import deployments
from kwont_gateway.deps import GatewayDep, Reader, Trader
from kwont_gateway.models.trading import DeploymentCreate, DeploymentPublic
from kwont_gateway.routes.backtests import CONFLICT

router = APIRouter(prefix="/deployments", tags=["deployments"])


@router.post("", response_model=DeploymentPublic, status_code=201, responses=CONFLICT)
async def create_deployment(
    gw: GatewayDep, principal: Trader, body: DeploymentCreate
) -> dict[str, Any]:
    """Start a strategy on an account (paper or Binance)."""
    return deployments.public(await deployments.create(gw, principal, body))


@router.get("", response_model=list[DeploymentPublic])
async def list_deployments(
    gw: GatewayDep, principal: Reader, status: Literal["running", "stopped"] | None = None
) -> list[dict[str, Any]]:
    """List your deployments, newest first (at most 500); status keeps only running or only
    stopped ones."""
    return [deployments.public(d) for d in await deployments.find(gw, principal, status)]


@router.get("/{deployment_id}", response_model=DeploymentPublic)
async def get_deployment(gw: GatewayDep, principal: Reader, deployment_id: str) -> dict[str, Any]:
    """One of your deployments; 404 when it does not exist or is not yours."""
    return deployments.public(await deployments.get(gw, principal, deployment_id))


@router.post(
    "/{deployment_id}/stop", response_model=DeploymentPublic, status_code=status.HTTP_200_OK
)
async def stop_deployment(gw: GatewayDep, principal: Trader, deployment_id: str) -> dict[str, Any]:
    """Stop it: no new signals; open positions are left to the risk rules."""
    return deployments.public(await deployments.stop(gw, principal, deployment_id))
