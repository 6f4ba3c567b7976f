"""``/symbols``: what can be traded and backtested."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from kwont_gateway import audit, paging, symbols
from kwont_gateway.deps import Admin, GatewayDep, Reader, client_ip
from kwont_gateway.models.symbols import SymbolPublic, SymbolUpdate
from kwont_gateway.paging import Page

router = APIRouter(prefix="/symbols", tags=["symbols"])


@router.get("", response_model=list[SymbolPublic])
async def list_symbols(
    gw: GatewayDep,
    principal: Reader,
    page: Annotated[Page, paging.query(paging.SYMBOLS)],
    quote_asset: Annotated[str | None, Query(max_length=12, examples=["USDT"])] = None,
    status: Annotated[str | None, Query(max_length=20, examples=["TRADING"])] = None,
    min_volume_24h: Annotated[float | None, Query(ge=0)] = None,
    min_market_cap: Annotated[float | None, Query(ge=0)] = None,
    search: Annotated[str | None, Query(max_length=30, description="Symbol prefix.")] = None,
) -> list[dict[str, Any]]:
    """Symbols by 24h volume, filtered."""
    q = symbols.query(quote_asset, status, min_volume_24h, min_market_cap, search)
    return await symbols.find(gw.read, q, page.limit, page.offset)


@router.get("/{symbol}", response_model=SymbolPublic)
async def get_symbol(gw: GatewayDep, principal: Reader, symbol: str) -> dict[str, Any]:
    """One symbol by name (case-insensitive), with its market data and exchange filters; 404
    when unknown."""
    return await symbols.get(gw.read, symbol)


@router.patch("/{symbol}", response_model=SymbolPublic)
async def update_symbol(
    request: Request, gw: GatewayDep, principal: Admin, symbol: str, body: SymbolUpdate
) -> dict[str, Any]:
    """Edit metadata (admin only; audited)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True, mode="json")
    updated = await symbols.patch(
        gw.write, symbol, body.model_dump(exclude_unset=True, exclude_none=True)
    )
    await audit.record(gw, principal, client_ip(request), "symbol.update", symbol, changes)
    return updated
