"""``/signals``, ``/risk-rejections`` and ``/trails`` of your accounts, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kwont_gateway import paging, portfolio, trails
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.models.signals import RiskRejectionPublic, SignalPublic, TrailPublic
from kwont_gateway.paging import Page
from kwont_gateway.routes.ledger import Account, LedgerPage, Since, SymbolQ

router = APIRouter(tags=["signals"])
Ident = Annotated[str | None, Query(max_length=64)]


@router.get("/signals", response_model=list[SignalPublic])
async def list_signals(
    gw: GatewayDep,
    principal: Reader,
    page: LedgerPage,
    account: Account = None,
    deployment: Ident = None,
    symbol: SymbolQ = None,
    since: Since = None,
) -> list[dict[str, Any]]:
    """Signals of your deployments (``since``: candle close time, epoch ms)."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    if deployment:
        q["deployment_id"] = deployment
    return await portfolio.ledger(gw, "signals", q, page.limit, page.offset, id_as="event_id")


@router.get("/risk-rejections", response_model=list[RiskRejectionPublic], tags=["risk"])
async def list_risk_rejections(
    gw: GatewayDep,
    principal: Reader,
    page: LedgerPage,
    account: Account = None,
    deployment: Ident = None,
    symbol: SymbolQ = None,
    signal: Ident = None,
    since: Since = None,
) -> list[dict[str, Any]]:
    """Signals the risk gate refused, with the rule (``code``) and the reason."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    if deployment:
        q["deployment_id"] = deployment
    if signal:
        q["signal_id"] = signal
    return await portfolio.ledger(
        gw, "risk_rejections", q, page.limit, page.offset, id_as="event_id"
    )


@router.get("/trails", response_model=list[TrailPublic])
async def list_trails(
    gw: GatewayDep,
    principal: Reader,
    page: Annotated[Page, paging.query(paging.TRAILS)],
    account: Account = None,
    deployment: Ident = None,
) -> list[dict[str, Any]]:
    """Your latest signals, each with what it caused: refusals, orders and fills."""
    return await trails.latest(gw, principal, account, deployment, page.limit, page.offset)


@router.get("/trails/{correlation_id}", response_model=TrailPublic)
async def get_trail(gw: GatewayDep, principal: Reader, correlation_id: str) -> dict[str, Any]:
    """One chain by correlation id (a signal's id): the signal, refusals, orders, fills."""
    return await trails.trail(gw, principal, correlation_id)
