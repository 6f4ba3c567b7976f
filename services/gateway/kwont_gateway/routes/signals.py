"""``/signals`` and ``/risk-rejections`` of your accounts, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kwont_gateway import portfolio
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.models.signals import RiskRejectionPublic, SignalPublic
from kwont_gateway.routes.ledger import Account, Limit, Offset, Since, SymbolQ

router = APIRouter(tags=["signals"])
Ident = Annotated[str | None, Query(max_length=64)]


@router.get("/signals", response_model=list[SignalPublic])
async def list_signals(
    gw: GatewayDep,
    principal: Reader,
    account: Account = None,
    deployment: Ident = None,
    symbol: SymbolQ = None,
    since: Since = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Signals of your deployments (``since``: candle close time, epoch ms)."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    if deployment:
        q["deployment_id"] = deployment
    return await portfolio.ledger(gw, "signals", q, limit, offset, id_as="event_id")


@router.get("/risk-rejections", response_model=list[RiskRejectionPublic], tags=["risk"])
async def list_risk_rejections(
    gw: GatewayDep,
    principal: Reader,
    account: Account = None,
    deployment: Ident = None,
    symbol: SymbolQ = None,
    signal: Ident = None,
    since: Since = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Signals the risk gate refused, with the rule (``code``) and the reason."""
    q = portfolio.ledger_query(principal, account, symbol, since)
    if deployment:
        q["deployment_id"] = deployment
    if signal:
        q["signal_id"] = signal
    return await portfolio.ledger(gw, "risk_rejections", q, limit, offset, id_as="event_id")
