"""Settings of the portfolio service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from kwont_common.settings import Settings


class PortfolioSettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9106, ge=0, le=65535, description="Port of /metrics and /healthz.")
    snapshot_interval_s: float = Field(
        1.0,
        ge=0,
        description="Marks publish a portfolio snapshot at most once per account per this "
        "many seconds of event time (every booked fill publishes one).",
    )
    equity_curve_max: int = Field(
        20_000, ge=2, description="Points kept in an account's equity curve (the newest)."
    )
    equity_curve_step_s: float = Field(
        0.0,
        ge=0,
        description="Least event time between two points of the equity curve; updates within "
        "it rewrite the last point (0: a point per distinct event time).",
    )
    marks_consumer_group: str | None = Field(
        None,
        description="Base of the marks consumer's groups (default: `<group>-marks`); each "
        "process reads all market data in a group of its own, `<base>-<random>`.",
    )
    marks_lookback_s: float = Field(
        300.0,
        ge=0,
        description="On start the marks consumer reads back this many seconds of candles "
        "(and ticks), so a restarted replica knows the latest mark of each symbol.",
    )
    state_flush_s: float = Field(
        0.2, gt=0, description="How often the in-memory accounts are snapshotted per partition."
    )
    documents_flush_s: float = Field(
        0.2, gt=0, description="How often the gateway's `portfolios` documents are written."
    )
    marks_from_ticks: bool = Field(
        False,
        description="Also take marks from `ticks` (each mark revalues the accounts holding "
        "the symbol; candles alone give a mark per candle close).",
    )
    account_cache_s: float = Field(
        30.0, ge=0, description="How long account settings and owners are cached."
    )

    @property
    def marks_group_id(self) -> str:
        """Base of the marks consumer's groups: ``marks_consumer_group`` or ``<group>-marks``."""
        return self.marks_consumer_group or f"{self.group_id}-marks"
