"""Symbols and their metadata."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SymbolPublic(BaseModel):
    """A symbol of the exchange with its 24 h volume, market cap and filters."""

    symbol: str = Field(examples=["BTCUSDT"])
    base_asset: str | None = Field(None, examples=["BTC"])
    quote_asset: str | None = Field(None, examples=["USDT"])
    status: str | None = Field(None, examples=["TRADING"])
    volume_24h: float | None = Field(None, description="Quote volume of the last 24 hours.")
    market_cap: float | None = Field(None, description="Market cap of the base asset (USD).")
    filters: dict[str, Any] = Field(default_factory=dict, description="Exchange filters.")
    tags: list[str] = Field(default_factory=list)
    description: str | None = None


class SymbolUpdate(BaseModel):
    """Metadata an admin may edit; fields left out stay as they are."""

    status: str | None = Field(None, pattern=r"^[A-Z_]{1,20}$", examples=["BREAK"])
    market_cap: float | None = Field(None, ge=0)
    tags: list[str] | None = Field(None, max_length=20, examples=[["layer-1"]])
    description: str | None = Field(None, max_length=2000)
