"""Candles for charts."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CandlesPublic(BaseModel):
    """Candles of one symbol and interval, merged into at most max_points bars."""

    symbol: str
    interval: str
    merged: int = Field(
        description="Candles of `interval` merged into each bar (1: none); more than 1 when "
        "the range holds more than `max_points` candles.",
        examples=[1],
    )
    candles: list[list[float]] = Field(
        description="[[open_time_ms, open, high, low, close, volume], ...], oldest first."
    )
