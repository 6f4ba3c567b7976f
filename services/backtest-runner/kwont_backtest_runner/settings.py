"""Settings of the backtest-runner service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from kwont_common.settings import Settings


class BacktestRunnerSettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9107, ge=0, le=65535, description="Port of /metrics and /healthz.")
