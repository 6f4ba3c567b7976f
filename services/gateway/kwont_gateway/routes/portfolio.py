"""``/portfolio``: balances, positions and equity curve of your accounts."""

from __future__ import annotations

import time
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query

from kwont_gateway import portfolio
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.models.common import TimeSpec
from kwont_gateway.models.trading import EquityCurve, PortfolioDetail, PortfolioPublic

router = APIRouter(prefix="/portfolio", tags=["portfolio"])


@router.get("", response_model=list[PortfolioPublic])
async def list_portfolios(gw: GatewayDep, principal: Reader) -> list[dict[str, Any]]:
    """The latest snapshot of each of your accounts."""
    return [portfolio.public(d) for d in await portfolio.find(gw, principal)]


@router.get("/{account}", response_model=PortfolioDetail)
async def get_portfolio(gw: GatewayDep, principal: Reader, account: str) -> dict[str, Any]:
    """The latest snapshot, and the account's kill switch."""
    doc = portfolio.public(await portfolio.get(gw, principal, account))
    return {**doc, "kill_switch": await portfolio.kill_switch(gw, account, int(time.time() * 1000))}


@router.get("/{account}/equity", response_model=EquityCurve)
async def get_equity(
    gw: GatewayDep,
    principal: Reader,
    account: str,
    start: Annotated[TimeSpec | None, Query()] = None,
    end: Annotated[TimeSpec | None, Query()] = None,
    points: Annotated[int, Query(ge=2, le=100_000)] = 1000,
) -> dict[str, Any]:
    """The account's equity curve, optionally clipped and downsampled."""
    times, values = await portfolio.equity_between(gw, principal, account, start, end)
    if len(times) > points:
        idx = np.unique(np.linspace(0, len(times) - 1, points).round().astype(np.int64))
        times, values = times[idx], values[idx]
    values = np.where(np.isfinite(values), values, 0.0)
    return {
        "account": account,
        "points": np.column_stack([times, values]).tolist() if len(times) else [],
    }
