"""GraphQL subscriptions over ``graphql-transport-ws``, fed by this replica's push feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from kwont_gateway.accounts import owned_accounts, require_account
from kwont_gateway.graphql.context import Context
from kwont_gateway.graphql.types import BacktestUpdate, Event
from kwont_gateway.hub import QUEUE_SIZE, Push
from kwont_gateway.streams import backtest_updates

Ctx = Info[Context, None]


def _update(job_id: str, kind: str, data: dict[str, Any]) -> BacktestUpdate:
    progress = data.get("progress") or {}
    return BacktestUpdate(
        job_id=strawberry.ID(job_id),
        kind=kind,
        status=data.get("status"),
        stage=data.get("stage") or progress.get("stage"),
        fraction=data.get("fraction", progress.get("fraction")),
        message=data.get("message"),
        error=data.get("error"),
        metrics=data.get("metrics"),
    )


async def _channel(ctx: Context, channel: str, keys: list[str]) -> AsyncGenerator[Push, None]:
    queue: asyncio.Queue[Push] = asyncio.Queue(QUEUE_SIZE)
    for key in keys:
        ctx.gw.hub.add(channel, key, queue)
    try:
        while True:
            yield await queue.get()
    finally:
        for key in keys:
            ctx.gw.hub.remove(channel, key, queue)


@strawberry.type
class Subscription:
    """GraphQL subscriptions, fed by the same hub as the WebSocket channels."""

    @strawberry.subscription(description="The job's state, its progress, then its result.")  # type: ignore[untyped-decorator]
    async def backtest_progress(
        self, info: Ctx, id: strawberry.ID
    ) -> AsyncGenerator[BacktestUpdate, None]:
        """Stream the job's updates until its result (or failure) arrives."""
        stream = backtest_updates(info.context.gw, info.context.principal, str(id))
        try:
            async for kind, data in stream:
                yield _update(str(id), kind, data)
        finally:
            await stream.aclose()

    @strawberry.subscription(description="Closed candles of a symbol and interval.")  # type: ignore[untyped-decorator]
    async def candles(self, info: Ctx, symbol: str, interval: str) -> AsyncGenerator[Event, None]:
        """Stream the closed candles of symbol at interval."""
        async for push in _channel(info.context, "candles", [f"{symbol.upper()}:{interval}"]):
            yield Event.of(push.data)

    @strawberry.subscription(description="Fills of one of your accounts, or of all of them.")  # type: ignore[untyped-decorator]
    async def fills(self, info: Ctx, account: str | None = None) -> AsyncGenerator[Event, None]:
        """Stream the fills of one of the caller's accounts, or of all of them."""
        ctx = info.context
        if account is not None:
            await require_account(ctx.gw, ctx.principal, account)
            accounts = [account]
        else:
            accounts = await owned_accounts(ctx.gw, ctx.principal)
        async for push in _channel(ctx, "fills", accounts):
            yield Event.of(push.data)
