"""The paper venue's state as plain data: an open paper position (kept by
:mod:`kwont_execution.store`, one document per account and symbol) and the part of a closed
candle its stops are checked against. The rules that change a position are in
:mod:`kwont_execution.paper`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Position:
    """An open paper position of one account on one symbol."""

    account: str
    symbol: str
    side: int  # +1 long, -1 short
    quantity: Decimal
    entry_price: Decimal
    stop_loss: float | None
    take_profit: float | None
    liquidation: float
    interval: str
    checked_through: int  # open time of the last candle checked against the stops
    correlation_id: uuid.UUID
    entry_order: str
    sl_order: str  # client order ids of the protective legs (derived from the signal)
    tp_order: str
    leverage: int = 1
    opened_at: int = 0  # time of the entry fill (epoch ms): funding times from it on are paid
    funding: Decimal = Decimal(0)  # funding paid so far (< 0: received), quote asset
    funded_through: int = -1  # the last funding time paid (epoch ms)


@dataclass(frozen=True)
class Bar:
    """The part of a closed candle the stops are checked against."""

    open_time: int
    close_time: int
    open: float
    high: float
    low: float
