"""GraphQL object types, built from the documents the plain functions return."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from kwont_gateway import backtests
from kwont_gateway.graphql.context import Context


@strawberry.type
class Symbol:
    """A tradable symbol with its market data (SymbolPublic of the REST API)."""

    symbol: str
    base_asset: str | None
    quote_asset: str | None
    status: str | None
    volume_24h: float | None
    market_cap: float | None
    filters: JSON
    tags: list[str]
    description: str | None

    @classmethod
    def of(cls, d: dict[str, Any]) -> Symbol:
        """From the dict symbols.public returns."""
        return cls(**d)


@strawberry.type
class Strategy:
    """A built-in or uploaded strategy with its parameters and latest version's check."""

    id: strawberry.ID
    name: str
    builtin: bool
    description: str | None
    parameters: JSON | None
    latest_version: int | None
    check_status: str | None = strawberry.field(
        description="The latest version's check: pending, checking, valid or invalid."
    )

    @classmethod
    def of(cls, d: dict[str, Any]) -> Strategy:
        """From the dict strategies.public or builtin_public returns."""
        versions = d.get("versions") or []
        check = (versions[-1].get("check") or {}).get("status") if versions else None
        return cls(
            id=strawberry.ID(d["id"]),
            name=d["name"],
            builtin=d["builtin"],
            description=d.get("description"),
            parameters=d.get("parameters"),
            latest_version=d.get("latest_version"),
            check_status=check,
        )


@strawberry.type
class BacktestSummary:
    """The headline of a backtest result: metrics, final equity and trade count."""

    metrics: JSON
    final_equity: str | None
    trade_count: int
    content_hash: str | None
    duration_ms: float | None
    monte_carlo: JSON | None = strawberry.field(
        default=None, description="Final equity and max drawdown bands (as REST's result)."
    )

    @classmethod
    def of(cls, d: dict[str, Any]) -> BacktestSummary:
        """From a backtest_results document (the loader's projection)."""
        return cls(
            metrics=cast(JSON, d.get("metrics") or {}),
            final_equity=None if d.get("final_equity") is None else str(d["final_equity"]),
            trade_count=int(d.get("trade_count") or 0),
            content_hash=d.get("content_hash"),
            duration_ms=d.get("duration_ms"),
            monte_carlo=cast(JSON, d.get("monte_carlo")),
        )


@strawberry.type
class TradePage:
    """One page of a result's trades (as ``GET /backtests/{id}/trades``)."""

    items: list[JSON] = strawberry.field(description="Trades in entry order.")
    next_cursor: str | None = strawberry.field(description="Pass as `cursor`; null: last page.")
    total: int


@strawberry.type
class Backtest:
    """A backtest job: status, progress, what it ran, and its result once done."""

    id: strawberry.ID
    status: str
    stage: str
    fraction: float
    params: JSON
    symbols: list[str]
    interval: str
    start_time: float = strawberry.field(description="Epoch ms.")
    end_time: float = strawberry.field(description="Epoch ms.")
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None
    from_cache: bool
    strategy_name: str
    strategy_builtin: strawberry.Private[bool]

    @strawberry.field(description="The stored result (batched: one read per query).")  # type: ignore[untyped-decorator]
    async def result(self, info: Info[Context, None]) -> BacktestSummary | None:
        """The result summary, None until the job succeeded (batched by the results loader)."""
        d = await info.context.loaders.results.load(str(self.id))
        return None if d is None else BacktestSummary.of(d)

    @strawberry.field(description="The result's trades, `limit` (1..1000) at a time.")  # type: ignore[untyped-decorator]
    async def trades(
        self, info: Info[Context, None], limit: int = 100, cursor: str | None = None
    ) -> TradePage:
        """One page of the result's trades, as GET /api/v1/backtests/{id}/trades."""
        ctx = info.context
        page = await backtests.trades(ctx.gw, ctx.principal, str(self.id), limit, cursor)
        return TradePage(items=cast(list[JSON], page["items"]), next_cursor=page["next_cursor"],
                         total=page["total"])  # fmt: skip

    @strawberry.field(description="The strategy it ran (batched: one read per query).")  # type: ignore[untyped-decorator]
    async def strategy(self, info: Info[Context, None]) -> Strategy | None:
        """The strategy the job ran: the built-in one, or the caller's upload; None when it is
        unknown or deleted."""
        if self.strategy_builtin:
            from kwont_gateway import strategies

            known = strategies.builtins()
            return (
                Strategy.of(strategies.builtin_public(self.strategy_name))
                if self.strategy_name in known
                else None
            )
        d = await info.context.loaders.strategies.load(self.strategy_name)
        return None if d is None else Strategy.of(d)

    @classmethod
    def of(cls, d: dict[str, Any]) -> Backtest:
        """From the dict backtests.public returns."""
        return cls(
            id=strawberry.ID(d["id"]),
            status=d["status"],
            stage=d["progress"].get("stage", ""),
            fraction=float(d["progress"].get("fraction", 0.0)),
            params=d["params"],
            symbols=d["symbols"],
            interval=d["interval"],
            start_time=d["start_time"],
            end_time=d["end_time"],
            submitted_at=d["submitted_at"],
            started_at=d["started_at"],
            finished_at=d["finished_at"],
            error=d["error"],
            from_cache=d["from_cache"],
            strategy_name=d["strategy"]["name"],
            strategy_builtin=bool(d["strategy"].get("builtin", True)),
        )


@strawberry.type
class BacktestAccepted:
    """A queued backtest: its id and the WebSocket that streams its progress."""

    job_id: strawberry.ID
    status: str
    ws_url: str


@strawberry.type
class BacktestUpdate:
    """One message of a backtest's stream: its ``state``, a ``progress`` or the ``result``."""

    job_id: strawberry.ID
    kind: str
    status: str | None
    stage: str | None
    fraction: float | None
    message: str | None
    error: str | None
    metrics: JSON | None


@strawberry.type
class Portfolio:
    """An account's equity, PnL, fees and balances; money as decimal strings."""

    account: str
    equity: str | None
    realized_pnl: str | None
    unrealized_pnl: str | None
    fees_paid: str | None
    balances: JSON
    positions: JSON
    updated_at: float | None


@strawberry.type
class Deployment:
    """A strategy trading live (or paper) on an account."""

    id: strawberry.ID
    account: str
    strategy: str
    version: int | None
    params: JSON
    symbols: list[str]
    interval: str
    venue: str
    status: str
    created_at: dt.datetime
    stopped_at: dt.datetime | None

    @classmethod
    def of(cls, d: dict[str, Any]) -> Deployment:
        """From the dict deployments.public returns."""
        return cls(**{**d, "id": strawberry.ID(d["id"])})


@strawberry.type
class Event:
    """A pushed or stored event (order update, fill, candle) as its JSON."""

    account: str | None
    symbol: str | None
    event_time: float
    data: JSON

    @classmethod
    def of(cls, d: dict[str, Any]) -> Event:
        """From an orders or fills document; the whole document goes into data."""
        return cls(
            account=d.get("account"),
            symbol=d.get("symbol"),
            event_time=d.get("event_time", 0),
            data=cast(JSON, d),
        )


@strawberry.type
class Trail:
    """What one signal caused (REST ``/trails``): its refusals, orders and fills."""

    correlation_id: str
    outcome: str
    signal: JSON | None
    rejections: JSON
    orders: JSON
    fills: JSON

    @classmethod
    def of(cls, d: dict[str, Any]) -> Trail:
        """From the dict trails.trail or trails.latest returns."""
        return cls(**d)


@strawberry.type
class StrategyVersion:
    """One version of an upload with its source (REST ``/strategies/{id}/versions/{n}``)."""

    strategy_id: strawberry.ID
    name: str
    version: int
    sha256: str
    created_at: dt.datetime
    check_status: str | None
    check_error: str | None
    code: str

    @classmethod
    def of(cls, d: dict[str, Any]) -> StrategyVersion:
        """From the dict strategies.version_source returns; its check split into status, error."""
        check = d.get("check") or {}
        return cls(
            strategy_id=strawberry.ID(d["strategy_id"]), name=d["name"], version=d["version"],
            sha256=d["sha256"], created_at=d["created_at"], check_status=check.get("status"),
            check_error=check.get("error"), code=d["code"],
        )  # fmt: skip
