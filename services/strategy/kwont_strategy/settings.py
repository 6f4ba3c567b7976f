"""Settings of the strategy service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from kwont_common.settings import Settings


class StrategySettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9103, ge=0, le=65535, description="Port of /metrics and /healthz.")
    deployments_refresh_s: float = Field(
        1.0,
        gt=0,
        description="Seconds between re-reads of the running deployments: how soon a start, "
        "stop or change made through the gateway takes effect.",
    )
    progress_flush_s: float = Field(
        0.1,
        gt=0,
        description="Seconds between writes of which candles each deployment has evaluated "
        "(`strategy_progress`; a paper stop waits for the candle before it).",
    )
    window_max_candles: int = Field(
        5000,
        ge=2,
        description="Most closed candles kept per symbol and interval; a strategy whose "
        "live_window asks for more sees only this many (and is told so in its last_error).",
    )
