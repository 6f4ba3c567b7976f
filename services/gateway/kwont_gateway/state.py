"""What every request handler works with: settings, database roles, Redis, producer, hub."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database, Mongo
from kwont_gateway.hub import Hub
from kwont_gateway.ratelimit import RateLimiter
from kwont_gateway.settings import GatewaySettings
from kwont_gateway.throttle import LoginThrottle


@dataclass
class Gateway:
    """The gateway's shared state, created once per process in ``main.setup``."""

    settings: GatewaySettings
    mongo: Mongo
    redis: aioredis.Redis
    producer: EventProducer
    jwt_secret: str
    limiter: RateLimiter
    hub: Hub = field(default_factory=Hub)
    key_cache: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    key_touched: dict[str, float] = field(default_factory=dict)
    token_cache: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    feed_ready: bool = False
    throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.throttle = LoginThrottle(
            self.redis,
            per_account=s.login_fail_per_account,
            per_ip=s.login_fail_per_ip,
            window_s=s.login_fail_window_s,
            lockout_s=s.login_lockout_s,
            lockout_max_s=s.login_lockout_max_s,
        )

    @property
    def write(self) -> Database:
        """Platform database on the primary."""
        return self.mongo.write

    @property
    def read(self) -> Database:
        """Platform database, ``secondaryPreferred``."""
        return self.mongo.read

    @property
    def market(self) -> Database:
        """Market-data database, ``secondaryPreferred``."""
        return self.mongo.market_read


def load_jwt_secret(settings: GatewaySettings) -> str:
    """The configured secret, else one generated once under the run directory (mode 0600)."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.run_dir) / "gateway" / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret
