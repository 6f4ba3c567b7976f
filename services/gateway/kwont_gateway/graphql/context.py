"""The GraphQL context: the caller, the gateway state and this request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from kwont_gateway import strategies
from kwont_gateway.auth import authenticate
from kwont_gateway.deps import GatewayDep, charge, client_ip, connection_credentials
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway

Document = dict[str, Any]


@dataclass
class Loaders:
    """Batch loaders: however many objects a query lists, one read per kind. They load
    documents; the GraphQL types shape them (so this module does not depend on them)."""

    results: DataLoader[str, Document | None]
    strategies: DataLoader[str, Document | None]


class Context(BaseContext):
    """What every resolver gets: the Gateway, the authenticated principal and per-request data
    loaders."""

    def __init__(self, gw: Gateway, principal: Principal) -> None:
        super().__init__()
        self.gw = gw
        self.principal = principal
        self.loaders = make_loaders(gw, principal)


def make_loaders(gw: Gateway, principal: Principal) -> Loaders:
    """Data loaders that batch the results and strategies a query asks for into one read each,
    scoped to the principal."""
    owner = principal.user_id

    async def load_results(ids: list[str]) -> list[Document | None]:
        found: dict[str, Document] = {}
        projection = {
            "metrics": 1,
            "final_equity": 1,
            "trade_count": 1,
            "content_hash": 1,
            "duration_ms": 1,
            "monte_carlo": 1,
        }
        async for d in gw.read.backtest_results.find(
            {"_id": {"$in": ids}, "owner": owner}, projection
        ):
            found[d["_id"]] = d
        return [found.get(i) for i in ids]

    async def load_strategies(ids: list[str]) -> list[Document | None]:
        cursor = gw.read.strategies.find(
            {"_id": {"$in": ids}, "owner": owner}, {"versions.code": 0}
        )
        found = {d["_id"]: strategies.public(d) async for d in cursor}
        return [found.get(i) for i in ids]

    return Loaders(DataLoader(load_fn=load_results), DataLoader(load_fn=load_strategies))


async def get_context(connection: HTTPConnection, gw: GatewayDep) -> Context:
    """FastAPI dependency: the caller from the WebSocket gate, or from this HTTP request's
    credentials (charged to the read budget).

    Raises:
        ApiError: 401 without valid credentials; 429 over the read budget.
    """
    if isinstance(connection, WebSocket):
        return Context(gw, connection.state.principal)
    principal = await authenticate(gw, *connection_credentials(connection))
    await charge(gw, principal, client_ip(connection), "read")
    return Context(gw, principal)
