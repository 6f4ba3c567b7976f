"""Settings of the gateway service (``KWONT_*`` environment variables)."""

from __future__ import annotations

import socket

from pydantic import Field

from kwont_common.settings import Settings


class GatewaySettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9101, ge=0, le=65535, description="Port of /metrics and /healthz.")
    http_host: str = Field("127.0.0.1", description="Address the API listens on.")
    http_port: int = Field(8000, ge=0, le=65535, description="Port the API listens on.")
    jwt_secret: str | None = Field(
        None,
        description="HMAC key of access tokens. Unset: generated once and kept in "
        "`<run_dir>/gateway/jwt-secret` (set it explicitly when running several replicas).",
    )
    access_token_ttl_s: int = Field(900, ge=30, description="Lifetime of a JWT access token.")
    refresh_token_ttl_s: int = Field(
        14 * 86400, ge=60, description="Lifetime of a refresh token (rotated on every use)."
    )
    auth_cache_ttl_s: float = Field(
        10.0, ge=0, description="How long a replica caches an API-key lookup (revocation delay)."
    )
    token_version_cache_s: int = Field(
        60,
        ge=1,
        description="How long Redis caches a user's token version (bounds revocation delay "
        "only when Redis missed the bump).",
    )
    login_fail_per_account: int = Field(
        5, ge=1, description="Failed logins of one username before it is locked out."
    )
    login_fail_per_ip: int = Field(
        20, ge=1, description="Failed logins from one client IP before it is locked out."
    )
    login_fail_window_s: int = Field(
        900, ge=1, description="Window in which failed logins are counted."
    )
    login_lockout_s: int = Field(
        60, ge=1, description="First lockout; each further failure while counted doubles it."
    )
    login_lockout_max_s: int = Field(3600, ge=1, description="Longest lockout.")
    api_key_max_days: int = Field(
        365, ge=1, le=365, description="Longest API-key lifetime in days, also the default."
    )
    ws_session_check_s: float = Field(
        5.0, gt=0, description="How often an open WebSocket re-checks its user's token version."
    )
    admin_password: str | None = Field(
        None, description="Password of the first admin created by `kwont-gateway create-admin`."
    )
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS.")
    rate_limit_enabled: bool = Field(True, description="Enforce the Redis rate limits.")
    rate_window_s: int = Field(60, ge=1, description="Sliding window of the rate limits.")
    rate_read_per_user: int = Field(1200, ge=1, description="Cheap requests per user per window.")
    rate_read_per_ip: int = Field(
        6000, ge=1, description="Cheap requests per client IP per window."
    )
    rate_submit_per_user: int = Field(
        100, ge=1, description="Backtest/optimisation submissions per user per window."
    )
    rate_submit_per_ip: int = Field(
        1000, ge=1, description="Backtest/optimisation submissions per client IP per window."
    )
    replica_id: str = Field(
        default_factory=socket.gethostname,
        description="Names this replica's push consumer group (each replica sees every event).",
    )
    quota_max_queued: int = Field(
        50, ge=0, description="Jobs a user may have queued (default; admins override per user "
        "or role, /api/v1/quotas).",
    )  # fmt: skip
    quota_retry_after_s: int = Field(
        30, ge=1, description="Retry-After of a 429 for a full queue (about one job's time)."
    )
    optimization_shard_size: int = Field(30, ge=1, description="Parameter sets per grid shard.")
    max_grid_size: int = Field(5000, ge=1, description="Largest parameter grid accepted.")
    binance_futures_url: str = Field(
        "https://fapi.binance.com/fapi",
        description="Binance USD-M futures REST base the key pair a user attaches is checked "
        "against (a signed account read).",
    )

    @property
    def cors_origin_list(self) -> list[str]:
        """cors_origins split at commas, blanks dropped."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def push_group(self) -> str:
        """One consumer group per replica, so any replica can serve any subscriber."""
        return f"{self.group_id}-push-{self.replica_id}-{self.http_port}"
