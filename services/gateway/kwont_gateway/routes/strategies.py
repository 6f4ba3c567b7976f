"""``/strategies``: built-ins and your uploads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from kwont_gateway import strategies
from kwont_gateway.deps import GatewayDep, Reader, Trader
from kwont_gateway.models.strategies import (
    StrategyCreate,
    StrategyDetail,
    StrategyPublic,
    StrategyUpdate,
)

router = APIRouter(prefix="/strategies", tags=["strategies"])


def _detail(doc: dict[str, Any]) -> dict[str, Any]:
    versions = doc.get("versions") or []
    return {**strategies.public(doc), "code": versions[-1]["code"] if versions else None}


@router.get("", response_model=list[StrategyPublic])
async def list_strategies(gw: GatewayDep, principal: Reader) -> list[dict[str, Any]]:
    """Built-in strategies (with their parameters) and yours."""
    return await strategies.list_all(gw, principal)


@router.post("", response_model=StrategyDetail, status_code=201)
async def create_strategy(
    gw: GatewayDep, principal: Trader, body: StrategyCreate
) -> dict[str, Any]:
    """Upload a strategy. Its sandbox check starts `pending`; the runner validates it."""
    return _detail(await strategies.create(gw, principal, body.name, body.code))


@router.get("/{strategy_id}", response_model=StrategyDetail)
async def get_strategy(gw: GatewayDep, principal: Reader, strategy_id: str) -> dict[str, Any]:
    """A built-in by name, or one of yours with the code of its latest version."""
    if strategy_id in strategies.builtins():
        return strategies.builtin_public(strategy_id)
    return _detail(await strategies.get_own(gw, principal, strategy_id))


@router.put("/{strategy_id}", response_model=StrategyDetail)
async def update_strategy(
    gw: GatewayDep, principal: Trader, strategy_id: str, body: StrategyUpdate
) -> dict[str, Any]:
    """Add a version (the previous ones stay, for reproducible backtests)."""
    return _detail(await strategies.add_version(gw, principal, strategy_id, body.code))


@router.delete("/{strategy_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_strategy(gw: GatewayDep, principal: Trader, strategy_id: str) -> None:
    await strategies.delete(gw, principal, strategy_id)
