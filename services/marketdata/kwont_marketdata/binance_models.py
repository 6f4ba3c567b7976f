"""Binance REST payloads in Binance's own field names, and their conversion to Kwont data.

Klines arrive as JSON arrays (``Kline`` names the positions as Binance documents them);
exchangeInfo and the 24h tickers as objects. Prices and sizes are decimal strings: filters
stay exact (normalised decimal strings, as the gateway serves them), volumes become floats
so the gateway can range-query them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict

import kwont_ohlcv as ohlcv


class Kline(NamedTuple):
    """One row of ``GET /api/v3/klines`` or ``/fapi/v1/klines``, positions named as Binance does."""

    openTime: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    closeTime: int
    quoteAssetVolume: str
    numberOfTrades: int
    takerBuyBaseAssetVolume: str
    takerBuyQuoteAssetVolume: str
    ignore: str


# Kline position -> kwont_ohlcv column.
_COLUMNS = {
    "open_time": Kline._fields.index("openTime"),
    "open": Kline._fields.index("open"),
    "high": Kline._fields.index("high"),
    "low": Kline._fields.index("low"),
    "close": Kline._fields.index("close"),
    "volume": Kline._fields.index("volume"),
    "quote_volume": Kline._fields.index("quoteAssetVolume"),
    "trades": Kline._fields.index("numberOfTrades"),
}


def klines_to_columns(rows: Sequence[Sequence[Any]]) -> ohlcv.Columns:
    """kwont_ohlcv columns (float64) of kline rows, in the order given.

    Raises:
        ValueError: a row is not a 12-field kline or holds a non-number.
    """
    if any(len(r) != len(Kline._fields) for r in rows):
        raise ValueError(f"Binance kline rows must have {len(Kline._fields)} fields")
    table = np.asarray(rows, dtype=object).reshape(len(rows), len(Kline._fields))
    return {name: table[:, i].astype(np.float64) for name, i in _COLUMNS.items()}


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SymbolFilter(_Payload):
    """One entry of a symbol's ``filters`` (only the fields Kwont keeps)."""

    filterType: str
    tickSize: Decimal | None = None
    stepSize: Decimal | None = None
    minQty: Decimal | None = None
    minNotional: Decimal | None = None
    notional: Decimal | None = None  # futures MIN_NOTIONAL names it so


class SymbolInfo(_Payload):
    """One entry of exchangeInfo ``symbols``."""

    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    filters: list[SymbolFilter] = []

    def kwont_filters(self) -> dict[str, str]:
        """``tick_size``, ``step_size``, ``min_qty``, ``min_notional`` as decimal strings."""
        out: dict[str, str] = {}
        for f in self.filters:
            if f.filterType == "PRICE_FILTER" and f.tickSize is not None:
                out["tick_size"] = _plain(f.tickSize)
            elif f.filterType == "LOT_SIZE":
                if f.stepSize is not None:
                    out["step_size"] = _plain(f.stepSize)
                if f.minQty is not None:
                    out["min_qty"] = _plain(f.minQty)
            elif f.filterType in ("MIN_NOTIONAL", "NOTIONAL"):
                value = f.minNotional if f.minNotional is not None else f.notional
                if value is not None:
                    out["min_notional"] = _plain(value)
        return out


class ExchangeInfo(_Payload):
    """``GET /api/v3/exchangeInfo`` (the parts Kwont uses)."""

    serverTime: int
    symbols: list[SymbolInfo]


class Ticker24h(_Payload):
    """One entry of ``GET /api/v3/ticker/24hr`` (all symbols)."""

    symbol: str
    lastPrice: Decimal
    quoteVolume: Decimal


def _plain(value: Decimal) -> str:
    # Binance pads to 8 decimals ("0.01000000"); store the plain value ("0.01").
    return format(value.normalize(), "f")


def symbol_fields(info: SymbolInfo, ticker: Ticker24h | None) -> dict[str, Any]:
    """The exchange-owned fields of a ``symbols`` document (see the gateway's symbols.py)."""
    fields: dict[str, Any] = {
        "symbol": info.symbol,
        "base_asset": info.baseAsset,
        "quote_asset": info.quoteAsset,
        "status": info.status,
        "filters": info.kwont_filters(),
    }
    if ticker is not None:
        fields["volume_24h"] = float(ticker.quoteVolume)
        fields["last_price"] = float(ticker.lastPrice)
    return fields
