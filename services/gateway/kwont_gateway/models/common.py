"""Shapes shared by several resources."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from kwont_common.events import Sizing
from kwont_common.events.fields import Interval

ParamValue = int | float | bool | str
SymbolName = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{2,30}$", examples=["BTCUSDT"])]
TimeSpec = Annotated[
    int | str,
    Field(
        description="Epoch milliseconds or an ISO-8601 date/time (UTC when no offset).",
        examples=["2024-01-01T00:00:00Z"],
    ),
]


class SymbolFilter(BaseModel):
    """Selects symbols from the symbols collection."""

    quote_asset: str | None = Field(None, max_length=12, examples=["USDT"])
    status: str | None = Field("TRADING", max_length=20)
    min_volume_24h: float | None = Field(None, ge=0)
    min_market_cap: float | None = Field(None, ge=0)
    limit: int = Field(10, ge=1, le=100, description="At most this many, by 24h volume.")


class RunSpec(BaseModel):
    """What to simulate: market, period and account, shared by backtests and grids."""

    strategy: str = Field(
        min_length=1,
        max_length=80,
        description="Built-in name or stored strategy id.",
        examples=["sma_cross"],
    )
    version: int | None = Field(None, ge=1, description="Stored strategy version (default latest).")
    params: dict[str, ParamValue] = Field(default_factory=dict, examples=[{"fast": 10, "slow": 30}])
    symbols: list[SymbolName] | None = Field(None, min_length=1, max_length=100)
    symbol_filter: SymbolFilter | None = None
    interval: Interval = "1h"
    start: TimeSpec
    end: TimeSpec
    cash: Decimal = Field(Decimal(10_000), gt=0, le=Decimal(10) ** 12, allow_inf_nan=False)
    fee_bps: float = Field(10.0, ge=0, le=1000)
    slippage_bps: float = Field(0.0, ge=0, le=1000)
    leverage: float = Field(1.0, ge=1, le=125)
    long_only: bool = False
    margin_tiers: bool = Field(
        False, description="Liquidation by notional bracket (docs/strategies.md)."
    )
    funding: bool = Field(
        False,
        description="Pay the stored perpetual funding of the symbols at each funding time "
        "(docs/strategies.md); off by default.",
    )
    sizing: Sizing = Field(default_factory=Sizing)


class Page(BaseModel):
    """A page of a list: total matches, and the limit and offset asked for."""

    total: int
    limit: int
    offset: int
