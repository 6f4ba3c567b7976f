"""Field types the event models are built from.

The wire rule, stated in every field's description:

- Booked money (quantities, prices, fees, balances and PnL of orders, fills and portfolios, a
  job's cash and final equity) is ``Money``: an exact ``Decimal``, in JSON a **decimal string**
  in plain notation (``"0.00000001"``, never ``1E-8`` or a number).
- Market data (candle OHLCV, ticks) and what is derived from it (signal prices, reference
  prices, fractions, basis points, metrics) is ``float``, in JSON a **JSON number**.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, WithJsonSchema

DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
DECIMAL_STRING = 'Decimal string (exact, plain notation such as "0.00125", never a number)'
"""How a ``Money`` field's description names its wire type; the contract tests look for it."""
JSON_NUMBER = "JSON number (float)"
"""How a float field's description names its wire type; the contract tests look for it."""

Money = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DECIMAL_PATTERN,
            "description": f"{DECIMAL_STRING}.",
        }
    ),
]
"""Exact decimal, written in JSON as a plain (non-exponent) string such as ``"0.00125"``."""

EpochMs = Annotated[int, Field(ge=0, description="Milliseconds since the Unix epoch (UTC).")]
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,30}$", description="Exchange symbol.")]
Account = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Account id.")]

Interval = Literal[
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"
]
Feed = Literal["binance", "replay", "synthetic"]
Venue = Literal["paper", "binance"]
Side = Literal["BUY", "SELL"]
