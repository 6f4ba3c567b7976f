"""``/analysis``: performance of your accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kwont_gateway import portfolio
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.models.common import TimeSpec
from kwont_gateway.models.trading import Performance

router = APIRouter(prefix="/analysis", tags=["analysis"])


@router.get("/performance", response_model=Performance)
async def performance(
    gw: GatewayDep,
    principal: Reader,
    account: Annotated[str, Query(min_length=1, max_length=64)],
    start: Annotated[TimeSpec | None, Query()] = None,
    end: Annotated[TimeSpec | None, Query()] = None,
) -> dict[str, Any]:
    """Return, CAGR, volatility, Sharpe, Sortino and max drawdown of the account's equity
    curve over ``[start, end)`` (risk-free rate 0, crypto's 365.25-day year)."""
    times, values = await portfolio.equity_between(gw, principal, account, start, end)
    return portfolio.performance(account, times, values)
