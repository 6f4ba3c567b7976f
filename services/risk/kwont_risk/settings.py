"""Settings of the risk service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from kwont_common.settings import Settings


class RiskSettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9104, ge=0, le=65535, description="Port of /metrics and /healthz.")
    in_flight_wait_s: float = Field(
        60.0,
        gt=0,
        description="Longest a signal waits for an order of its account and symbol to finish "
        "before the attempt fails as transient (and the signal is retried).",
    )
    in_flight_poll_s: float = Field(
        0.2,
        gt=0,
        description="Re-check period of the in-memory book while a signal waits (a change of "
        "the account's book wakes the signal at once).",
    )
    exit_settle_s: float = Field(
        5.0,
        ge=0,
        description="After a closing order ended without closing the position (the venue "
        "already closed it by a stop-loss or take-profit), how long to wait for that fill "
        "before refusing the entry with `position_open`.",
    )
    state_flush_s: float = Field(
        0.2,
        gt=0,
        description="How often the in-memory books of the owned partitions are "
        "snapshotted (collection `risk_state`) and the API's documents written behind.",
    )
    replay_wait_s: float = Field(
        10.0,
        gt=0,
        description="While a new owner replays, how long a fill or update of one "
        "of risk's orders waits for its signal to be decided again before it is booked anyway.",
    )
    reset_poll_s: float = Field(
        1.0,
        gt=0,
        description="How often the stored kill-switch reset requests are read.",
    )
    limits_cache_s: float = Field(
        5.0, ge=0, description="How long account settings and symbol filters are cached."
    )
