"""Field types the event models are built from.

Booked money (quantities, prices, fees, balances of orders and fills) is ``Money``: an exact
``Decimal`` written in JSON as a plain string. Market data may be float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, WithJsonSchema

DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"

Money = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}),
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
