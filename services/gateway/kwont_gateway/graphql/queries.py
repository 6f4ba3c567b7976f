"""GraphQL queries: the same plain functions as the REST reads."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from kwont_gateway import backtests, deployments, paging, portfolio, strategies, symbols, trails
from kwont_gateway.graphql.context import Context
from kwont_gateway.graphql.types import (
    Backtest,
    Deployment,
    Event,
    Portfolio,
    Strategy,
    StrategyVersion,
    Symbol,
    Trail,
)

Ctx = Info[Context, None]


async def _ledger(
    info: Ctx, collection: str, account: str | None, symbol: str | None, limit: int
) -> list[Event]:
    """The caller's newest orders or fills (``collection``), as GraphQL events."""
    q = portfolio.ledger_query(info.context.principal, account, symbol, None)
    page = paging.LEDGER.clamp(limit)
    found = await portfolio.ledger(info.context.gw, collection, q, page.limit, page.offset)
    return [Event.of(d) for d in found]


@strawberry.input
class SymbolFilterInput:
    """Filters of the symbols query, the same as GET /api/v1/symbols takes."""

    quote_asset: str | None = None
    status: str | None = None
    min_volume_24h: float | None = None
    min_market_cap: float | None = None
    search: str | None = None


@strawberry.type
class Query:
    """GraphQL queries; each reads what the REST route of the same name reads, scoped to the
    caller."""

    @strawberry.field
    async def symbols(
        self, info: Ctx, filter: SymbolFilterInput | None = None, limit: int = 100, offset: int = 0
    ) -> list[Symbol]:
        """Symbols matching the filter, limit at most 500."""
        f = filter or SymbolFilterInput()
        q = symbols.query(f.quote_asset, f.status, f.min_volume_24h, f.min_market_cap, f.search)
        page = paging.SYMBOLS.clamp(limit, offset)
        found = await symbols.find(info.context.gw.read, q, page.limit, page.offset)
        return [Symbol.of(s) for s in found]

    @strawberry.field
    async def strategies(self, info: Ctx) -> list[Strategy]:
        """The built-in strategies and the caller's uploaded ones."""
        return [
            Strategy.of(s)
            for s in await strategies.list_all(info.context.gw, info.context.principal)
        ]

    @strawberry.field(description="One version of your strategy, with its source.")  # type: ignore[untyped-decorator]
    async def strategy_version(self, info: Ctx, id: strawberry.ID, version: int) -> StrategyVersion:
        """Version ``version`` of one of the caller's strategies, its code included; a not_found
        error when it is not theirs, is a built-in or has no such version."""
        ctx = info.context
        return StrategyVersion.of(
            await strategies.version_source(ctx.gw, ctx.principal, str(id), version)
        )

    @strawberry.field
    async def backtests(
        self,
        info: Ctx,
        status: str | None = None,
        strategy: str | None = None,
        symbol: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Backtest]:
        """The caller's backtests, newest first, filtered by status, strategy and symbol."""
        q = backtests.list_query(info.context.principal, status, strategy, symbol)
        page = paging.BACKTESTS.clamp(limit, offset)
        docs = await backtests.find(info.context.gw, q, page.limit, page.offset)
        return [Backtest.of(backtests.public(d)) for d in docs]

    @strawberry.field
    async def backtest(self, info: Ctx, id: strawberry.ID) -> Backtest:
        """One of the caller's backtests; a not_found error when it is missing or someone else's."""
        doc = await backtests.get_doc(info.context.gw, info.context.principal, str(id))
        return Backtest.of(backtests.public(doc))

    @strawberry.field
    async def portfolio(self, info: Ctx, account: str | None = None) -> list[Portfolio]:
        """The portfolio of one of the caller's accounts, or of all of them."""
        gw, principal = info.context.gw, info.context.principal
        if account is not None:
            docs = [await portfolio.get(gw, principal, account)]
        else:
            docs = await portfolio.find(gw, principal)
        return [Portfolio(**portfolio.public(d)) for d in docs]

    @strawberry.field
    async def deployments(self, info: Ctx, status: str | None = None) -> list[Deployment]:
        """The caller's deployments, optionally only those with status."""
        found = await deployments.find(info.context.gw, info.context.principal, status)
        return [Deployment.of(deployments.public(d)) for d in found]

    @strawberry.field
    async def orders(
        self, info: Ctx, account: str | None = None, symbol: str | None = None, limit: int = 100
    ) -> list[Event]:
        """The caller's latest orders, by account and symbol, limit at most 1000."""
        return await _ledger(info, "orders", account, symbol, limit)

    @strawberry.field
    async def fills(
        self, info: Ctx, account: str | None = None, symbol: str | None = None, limit: int = 100
    ) -> list[Event]:
        """The caller's latest fills, by account and symbol, limit at most 1000."""
        return await _ledger(info, "fills", account, symbol, limit)

    @strawberry.field(description="Your latest signals, each with its refusals, orders, fills.")  # type: ignore[untyped-decorator]
    async def trails(
        self,
        info: Ctx,
        account: str | None = None,
        deployment: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Trail]:
        """The trails of the caller's latest signals (of one account or deployment), newest
        first, limit at most 100."""
        ctx = info.context
        page = paging.TRAILS.clamp(limit, offset)
        found = await trails.latest(
            ctx.gw, ctx.principal, account, deployment, page.limit, page.offset
        )
        return [Trail.of(t) for t in found]

    @strawberry.field(description="The chain of one correlation id (a signal's id).")  # type: ignore[untyped-decorator]
    async def trail(self, info: Ctx, correlation_id: str) -> Trail:
        """The chain of one correlation id; a not_found error when none of the caller's records
        carries it."""
        ctx = info.context
        return Trail.of(await trails.trail(ctx.gw, ctx.principal, correlation_id))
