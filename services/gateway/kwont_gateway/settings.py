"""Settings of the gateway service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from kwont_common.settings import Settings


class GatewaySettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9101, ge=0, le=65535, description="Port of /metrics and /healthz.")
    http_host: str = Field("127.0.0.1", description="Address the API listens on.")
    http_port: int = Field(8000, ge=0, le=65535, description="Port the API listens on.")
