"""``/strategies``: built-ins and your uploads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from kwont_gateway import strategies
from kwont_gateway.deps import GatewayDep, Reader, Trader
from kwont_gateway.models.strategies import (
    StrategyCreate,
    StrategyDetail,
    StrategyPublic,
    StrategyUpdate,
    VersionDetail,
)

router = APIRouter(prefix="/strategies", tags=["strategies"])

# OpenAPI links (operationIds below): what a client, or schemathesis's stateful run, can do
# with a strategy it just uploaded, updated or read. They are how the stateful run reaches the
# states after an upload (pending, then checking while a runner checks it).
_ID = {"strategy_id": "$response.body#/id"}
_LIST = {"operationId": "list_strategies", "description": "Your strategies, this one included."}
_GET = {"operationId": "get_strategy", "parameters": _ID, "description": "Poll its check."}
_PUT = {"operationId": "update_strategy", "parameters": _ID, "description": "Add a version."}
_DELETE = {"operationId": "delete_strategy", "parameters": _ID, "description": "Delete it."}


def _links(status_code: int, description: str, **links: dict[str, Any]) -> dict[int | str, Any]:
    return {status_code: {"description": description, "links": links}}


def _detail(doc: dict[str, Any]) -> dict[str, Any]:
    versions = doc.get("versions") or []
    return {**strategies.public(doc), "code": versions[-1]["code"] if versions else None}


@router.get("", response_model=list[StrategyPublic], operation_id="list_strategies")
async def list_strategies(gw: GatewayDep, principal: Reader) -> list[dict[str, Any]]:
    """Built-in strategies (with their parameters) and yours."""
    return await strategies.list_all(gw, principal)


@router.post(
    "",
    response_model=StrategyDetail,
    status_code=201,
    operation_id="create_strategy",
    responses=_links(
        201, "Stored; its check is pending.", Get=_GET, List=_LIST, Update=_PUT, Delete=_DELETE
    ),
)
async def create_strategy(
    gw: GatewayDep, principal: Trader, body: StrategyCreate
) -> dict[str, Any]:
    """Upload a strategy. Its sandbox check starts `pending`; the runner validates it."""
    return _detail(await strategies.create(gw, principal, body.name, body.code))


@router.get(
    "/{strategy_id}",
    response_model=StrategyDetail,
    operation_id="get_strategy",
    responses=_links(200, "The strategy.", Update=_PUT, Delete=_DELETE),
)
async def get_strategy(gw: GatewayDep, principal: Reader, strategy_id: str) -> dict[str, Any]:
    """A built-in by name, or one of yours with the code of its latest version."""
    if strategy_id in strategies.builtins():
        return strategies.builtin_public(strategy_id)
    return _detail(await strategies.get_own(gw, principal, strategy_id))


@router.get(
    "/{strategy_id}/versions/{version}",
    response_model=VersionDetail,
    operation_id="get_strategy_version",
)
async def get_strategy_version(
    gw: GatewayDep, principal: Reader, strategy_id: str, version: Annotated[int, Path(ge=1)]
) -> dict[str, Any]:
    """One version of your strategy with its source and its check (any version, not only
    the latest)."""
    return await strategies.version_source(gw, principal, strategy_id, version)


@router.put(
    "/{strategy_id}",
    response_model=StrategyDetail,
    operation_id="update_strategy",
    responses=_links(200, "The new version is stored; its check is pending.", Get=_GET, List=_LIST),
)
async def update_strategy(
    gw: GatewayDep, principal: Trader, strategy_id: str, body: StrategyUpdate
) -> dict[str, Any]:
    """Add a version (the previous ones stay, for reproducible backtests)."""
    return _detail(await strategies.add_version(gw, principal, strategy_id, body.code))


@router.delete(
    "/{strategy_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_strategy"
)
async def delete_strategy(gw: GatewayDep, principal: Trader, strategy_id: str) -> None:
    """Delete one of your uploaded strategies with all its versions; 404 for a built-in or
    someone else's."""
    await strategies.delete(gw, principal, strategy_id)
