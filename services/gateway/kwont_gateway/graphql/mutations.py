"""GraphQL mutations: the same plain functions as the REST writes, validated by the same
request models."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.scalars import JSON
from strawberry.types import Info

from kwont_gateway import backtests, deployments, strategies, symbols
from kwont_gateway.auth import require_admin, require_trade
from kwont_gateway.deps import charge, client_ip
from kwont_gateway.errors import invalid
from kwont_gateway.graphql.context import Context
from kwont_gateway.graphql.types import Backtest, BacktestAccepted, Deployment, Strategy, Symbol
from kwont_gateway.models.backtests import BacktestCreate
from kwont_gateway.models.strategies import StrategyCreate, StrategyUpdate
from kwont_gateway.models.symbols import SymbolUpdate
from kwont_gateway.models.trading import DeploymentCreate

Ctx = Info[Context, None]
M = TypeVar("M", bound=BaseModel)


def _model(cls: type[M], data: dict[str, Any]) -> M:
    """Validate like REST does. Raises ApiError 422 naming the field."""
    try:
        return cls.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        raise invalid(f"{where}: {first['msg']}", where) from None


def _trader(info: Ctx) -> Context:
    require_trade(info.context.principal)
    return info.context


@strawberry.input
class BacktestInput:
    """A backtest to run; validated as the REST body BacktestCreate."""

    strategy: str
    interval: str
    start: str = strawberry.field(description="Epoch ms or ISO-8601.")
    end: str
    symbols: list[str] | None = None
    symbol_filter: JSON | None = None
    params: JSON | None = None
    version: int | None = None
    cash: str | None = None
    fee_bps: float | None = None
    slippage_bps: float | None = None
    leverage: float | None = None
    long_only: bool | None = None
    margin_tiers: bool | None = None
    funding: bool | None = None
    sizing: JSON | None = None


@strawberry.input
class SymbolMetadataInput:
    """Symbol fields an admin may set; omitted fields stay as they are."""

    status: str | None = None
    market_cap: float | None = None
    tags: list[str] | None = None
    description: str | None = None


@strawberry.input
class DeploymentInput:
    """A strategy to trade live on an account; validated as the REST body DeploymentCreate."""

    account: str
    strategy: str
    symbols: list[str]
    interval: str = "1h"
    venue: str = "paper"
    params: JSON | None = None
    version: int | None = None


@strawberry.type
class Mutation:
    """GraphQL mutations; each checks its input with the REST model and calls the same function as
    the REST route."""

    @strawberry.mutation
    async def create_strategy(self, info: Ctx, name: str, code: str) -> Strategy:
        """Upload a strategy (its version 1), like POST /api/v1/strategies."""
        ctx = _trader(info)
        body = _model(StrategyCreate, {"name": name, "code": code})
        doc = await strategies.create(ctx.gw, ctx.principal, body.name, body.code)
        return Strategy.of(strategies.public(doc))

    @strawberry.mutation
    async def update_strategy(self, info: Ctx, id: strawberry.ID, code: str) -> Strategy:
        """Add a version to one of the caller's strategies, like PUT /api/v1/strategies/{id}."""
        ctx = _trader(info)
        body = _model(StrategyUpdate, {"code": code})
        doc = await strategies.add_version(ctx.gw, ctx.principal, str(id), body.code)
        return Strategy.of(strategies.public(doc))

    @strawberry.mutation
    async def submit_backtest(self, info: Ctx, input: BacktestInput) -> BacktestAccepted:
        """Queue a backtest (charged to the submit rate limit), like POST /api/v1/backtests."""
        ctx = _trader(info)
        request = ctx.request
        await charge(ctx.gw, ctx.principal, client_ip(request) if request else "unknown", "submit")
        body = _model(BacktestCreate, vars(input))
        accepted = await backtests.submit(ctx.gw, ctx.principal, body)
        return BacktestAccepted(
            job_id=strawberry.ID(accepted["job_id"]),
            status=accepted["status"],
            ws_url=accepted["ws_url"],
        )

    @strawberry.mutation
    async def cancel_backtest(self, info: Ctx, id: strawberry.ID) -> Backtest:
        """Cancel one of the caller's backtests, like POST /api/v1/backtests/{id}/cancel."""
        ctx = _trader(info)
        return Backtest.of(backtests.public(await backtests.cancel(ctx.gw, ctx.principal, str(id))))

    @strawberry.mutation
    async def update_symbol_metadata(
        self, info: Ctx, symbol: str, input: SymbolMetadataInput
    ) -> Symbol:
        """Admin only: set a symbol's status, market cap, tags or description."""
        require_admin(info.context.principal)
        body = _model(SymbolUpdate, vars(input))
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        return Symbol.of(await symbols.patch(info.context.gw.write, symbol, changes))

    @strawberry.mutation
    async def create_deployment(self, info: Ctx, input: DeploymentInput) -> Deployment:
        """Start trading a strategy on one of the caller's accounts."""
        ctx = _trader(info)
        body = _model(DeploymentCreate, vars(input))
        return Deployment.of(
            deployments.public(await deployments.create(ctx.gw, ctx.principal, body))
        )

    @strawberry.mutation
    async def stop_deployment(self, info: Ctx, id: strawberry.ID) -> Deployment:
        """Stop one of the caller's deployments."""
        ctx = _trader(info)
        return Deployment.of(
            deployments.public(await deployments.stop(ctx.gw, ctx.principal, str(id)))
        )
