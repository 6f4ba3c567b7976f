"""``/orders`` and ``/fills`` of your accounts, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kwont_gateway import portfolio
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.models.trading import FillPublic, OrderPublic

router = APIRouter(tags=["orders", "fills"])
Account = Annotated[str | None, Query(max_length=64)]
SymbolQ = Annotated[str | None, Query(max_length=30)]
Since = Annotated[int | None, Query(ge=0, le=253_402_300_799_000, description="epoch ms")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


@router.get("/orders", response_model=list[OrderPublic], tags=["orders"])
async def list_orders(
    gw: GatewayDep,
    principal: Reader,
    account: Account = None,
    symbol: SymbolQ = None,
    since: Since = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Order updates (Binance order-status names)."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    if status:
        q["status"] = status.upper()
    return await portfolio.ledger(gw, "orders", q, limit, offset)


@router.get("/fills", response_model=list[FillPublic], tags=["fills"])
async def list_fills(
    gw: GatewayDep,
    principal: Reader,
    account: Account = None,
    symbol: SymbolQ = None,
    since: Since = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Executions with the venue's trade id."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    return await portfolio.ledger(gw, "fills", q, limit, offset)
