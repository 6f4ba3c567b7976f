"""``/orders`` and ``/fills`` of your accounts, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kwont_gateway import paging, portfolio
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.models.trading import FillPublic, OrderPublic
from kwont_gateway.paging import Page

router = APIRouter(tags=["orders", "fills"])
Account = Annotated[str | None, Query(max_length=64)]
SymbolQ = Annotated[str | None, Query(max_length=30)]
Since = Annotated[int | None, Query(ge=0, le=253_402_300_799_000, description="epoch ms")]
LedgerPage = Annotated[Page, paging.query(paging.LEDGER)]


@router.get("/orders", response_model=list[OrderPublic], tags=["orders"])
async def list_orders(
    gw: GatewayDep,
    principal: Reader,
    page: LedgerPage,
    account: Account = None,
    symbol: SymbolQ = None,
    since: Since = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> list[dict[str, Any]]:
    """Order updates (Binance order-status names)."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    if status:
        q["status"] = status.upper()
    return await portfolio.ledger(gw, "orders", q, page.limit, page.offset)


@router.get("/fills", response_model=list[FillPublic], tags=["fills"])
async def list_fills(
    gw: GatewayDep,
    principal: Reader,
    page: LedgerPage,
    account: Account = None,
    symbol: SymbolQ = None,
    since: Since = None,
) -> list[dict[str, Any]]:
    """Executions with the venue's trade id."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    return await portfolio.ledger(gw, "fills", q, page.limit, page.offset)
