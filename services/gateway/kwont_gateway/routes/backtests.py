"""``/backtests``: submit, follow, read results, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from kwont_gateway import backtests, paging
from kwont_gateway.deps import GatewayDep, Reader, Submitter, Trader
from kwont_gateway.errors import ErrorBody
from kwont_gateway.models.backtests import (
    BacktestAccepted,
    BacktestCreate,
    BacktestPage,
    BacktestPublic,
    BacktestResultPublic,
    Status,
    TradePage,
)
from kwont_gateway.paging import Page

BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "A cursor that is not from this backtest's pages"}
}

router = APIRouter(prefix="/backtests", tags=["backtests"])
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Not in a state that allows this"}
}


@router.post("", response_model=BacktestAccepted, status_code=status.HTTP_202_ACCEPTED)
async def submit_backtest(
    gw: GatewayDep, principal: Submitter, body: BacktestCreate
) -> dict[str, Any]:
    """Queue a backtest. Follow it on `ws_url` or poll `links.self`."""
    return await backtests.submit(gw, principal, body)


@router.get("", response_model=BacktestPage)
async def list_backtests(
    gw: GatewayDep,
    principal: Reader,
    page: Annotated[Page, paging.query(paging.BACKTESTS)],
    status: Status | None = None,
    strategy: Annotated[str | None, Query(max_length=80)] = None,
    symbol: Annotated[str | None, Query(max_length=30)] = None,
) -> dict[str, Any]:
    """Your backtests, newest first."""
    q = backtests.list_query(principal, status, strategy, symbol)
    items = await backtests.find(gw, q, page.limit, page.offset)
    total = await gw.read.backtests.count_documents(q)
    return {
        "items": [backtests.public(d) for d in items],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get("/{job_id}", response_model=BacktestPublic)
async def get_backtest(gw: GatewayDep, principal: Reader, job_id: str) -> dict[str, Any]:
    """Status, progress, timings and error of one of your backtests."""
    return backtests.public(await backtests.get_doc(gw, principal, job_id))


@router.get("/{job_id}/result", response_model=BacktestResultPublic, responses=CONFLICT)
async def get_result(
    gw: GatewayDep,
    principal: Reader,
    job_id: str,
    points: Annotated[
        int | None, Query(ge=2, le=100_000, description="Downsample the curve.")
    ] = None,
) -> dict[str, Any]:
    """Metrics, the trade count and the equity curve as `[[time_ms, value], ...]`. The
    trades are paged by `GET /backtests/{job_id}/trades`."""
    return await backtests.result(gw, principal, job_id, points)


@router.get("/{job_id}/trades", response_model=TradePage, responses={**CONFLICT, **BAD_REQUEST})
async def get_trades(
    gw: GatewayDep,
    principal: Reader,
    page: Annotated[Page, paging.query(paging.TRADES)],
    job_id: str,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
) -> dict[str, Any]:
    """The result's trades in entry order, `limit` at a time; follow `next_cursor` until it
    is null."""
    return await backtests.trades(gw, principal, job_id, page.limit, cursor)


@router.delete(
    "/{job_id}",
    response_model=BacktestPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=CONFLICT,
)
async def cancel_backtest(gw: GatewayDep, principal: Trader, job_id: str) -> dict[str, Any]:
    """Cancel: a queued job is cancelled at once, a running one becomes `cancelling`."""
    return backtests.public(await backtests.cancel(gw, principal, job_id))
