"""``/candles``: stored candles of a symbol (read only), for charts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from kwont_common.events.fields import Interval
from kwont_gateway import candles
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.jobspec import parse_time
from kwont_gateway.models.candles import CandlesPublic
from kwont_gateway.models.common import TimeSpec

router = APIRouter(prefix="/candles", tags=["market data"])


@router.get("/{symbol}", response_model=CandlesPublic)
async def get_candles(
    gw: GatewayDep,
    principal: Reader,
    symbol: Annotated[str, Path(pattern=r"^[A-Za-z0-9]{2,30}$", examples=["BTCUSDT"])],
    start: Annotated[TimeSpec, Query()],
    end: Annotated[TimeSpec, Query()],
    interval: Annotated[Interval, Query()] = "1h",
    max_points: Annotated[int, Query(ge=10, le=20_000)] = 5000,
) -> dict[str, Any]:
    """Candles opening in ``[start, end)``; consecutive candles are merged into bars when
    there are more than ``max_points`` (see ``merged``). An unknown symbol or a range with
    no stored data gives no candles, not an error."""
    cols = await candles.between(
        gw, symbol, interval, parse_time(start, "start"), parse_time(end, "end")
    )
    rows, k = candles.merged(cols, max_points)
    return {"symbol": symbol.upper(), "interval": interval, "merged": k, "candles": rows}
