"""The programs supervisord runs: three engines, then one per service, with their env.

Engines are group ``engines`` (autostart, started first, stopped last); services are
group ``services`` and start only once the engines answer and the topics exist. Docker is
not a program: an engine that already answers is used as is (see :mod:`dockerd`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kwont_devstack.config import ServiceSpec, StackConfig
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_devstack.redis_server import redis_command
from kwont_devstack.secantusdb import secantus_command
from kwont_devstack.secrets_env import credentials_key_file
from kwont_devstack.tansu import tansu_command

ENGINES_GROUP = "engines"
SERVICES_GROUP = "services"


@dataclass(frozen=True)
class Program:
    """One supervisord ``[program:x]``."""

    name: str
    group: str
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    priority: int = 100
    autostart: bool = True
    stopwaitsecs: int = 20

    @property
    def qualified(self) -> str:
        """The name supervisorctl knows it by (``group:name``)."""
        return f"{self.group}:{self.name}"


def engine_programs(config: StackConfig) -> list[Program]:
    """tansu, SecantusDB (auth on) and redis-server on the configured ports."""
    host = config.host
    return [
        Program("tansu", ENGINES_GROUP, tansu_command(host, config.kafka_port, "kwont-dev"),
                config.kafka_port, priority=10),
        Program("secantusdb", ENGINES_GROUP,
                secantus_command(host, config.mongo_port, config.mongo_data_dir, auth=True),
                config.mongo_port, priority=10, stopwaitsecs=30),
        Program("redis", ENGINES_GROUP,
                redis_command(host, config.redis_port, config.redis_data_dir),
                config.redis_port, priority=10),
    ]  # fmt: skip


def base_env(config: StackConfig, mongo: MongoEndpoint) -> dict[str, str]:
    """Settings every service (and ``kwont-topics``) gets: the ``KWONT_`` variables."""
    env = {
        "KWONT_KAFKA_BOOTSTRAP_SERVERS": config.kafka_bootstrap,
        # tansu cannot do InitProducerId; effects stay idempotent by event_id anyway.
        "KWONT_KAFKA_IDEMPOTENCE": "false",
        "KWONT_MONGO_URI": mongo.app_uri,
        "KWONT_MONGO_READONLY_URI": mongo.readonly_uri,
        "KWONT_MONGO_ADMIN_URI": mongo.admin_uri,
        "KWONT_REDIS_URL": config.redis_url,
        "KWONT_RUN_DIR": str(config.run_dir),
        "KWONT_LOG_LEVEL": "INFO",
        # This machine cannot reach Binance or CoinMarketCap: no scheduled symbol refresh.
        "KWONT_SYMBOLS_REFRESH_S": "0",
        "PYTHONUNBUFFERED": "1",
    }
    if not (
        os.environ.get("KWONT_CREDENTIALS_KEYS") or os.environ.get("KWONT_CREDENTIALS_KEYS_FILE")
    ):
        # users can attach exchange key pairs on a fresh stack (a key of the stack's own)
        env["KWONT_CREDENTIALS_KEYS_FILE"] = str(credentials_key_file(config.run_dir))
    return env


EMBEDDED_SERVICE_ENV: dict[str, dict[str, str]] = {
    # The demo's market: the synthetic feed continues the seeded demo year, one 1-minute
    # candle per second of wall time (clearly labelled `feed: synthetic`).
    "marketdata": {
        "KWONT_FEED": "synthetic",
        "KWONT_FEED_SYMBOLS": "BTCUSDT,ETHUSDT",
        "KWONT_FEED_INTERVAL": "1m",
        "KWONT_FEED_PACE_S": "1.0",
    },
    # The synthetic feed publishes no ticks: a reader of `ticks` would only fetch an empty
    # topic fifty times a second (0.04 of a core at rest, bench/idle.py); paper fills are
    # at the order's reference price either way.
    "execution": {"KWONT_PAPER_TICKS": "false"},
}
"""Settings of single services in the embedded stack (on top of :func:`base_env`)."""


def service_env(config: StackConfig, mongo: MongoEndpoint, spec: ServiceSpec) -> dict[str, str]:
    """:func:`base_env` plus the service's own metrics (and API) address and settings."""
    env = base_env(config, mongo) | EMBEDDED_SERVICE_ENV.get(spec.name, {})
    env["KWONT_METRICS_HOST"] = config.host
    env["KWONT_METRICS_PORT"] = str(spec.metrics_port)
    if spec.http_port is not None:
        env["KWONT_HTTP_HOST"] = config.host
        env["KWONT_HTTP_PORT"] = str(spec.http_port)
    if spec.name == "backtest-runner":
        # Written out (not only inherited) so a changed value restarts the runner.
        env["KWONT_SANDBOX_NETWORK"] = config.sandbox_network
        env["KWONT_SANDBOX_BRIDGE"] = config.sandbox_bridge
        env["KWONT_SANDBOX_RELAY_PORT"] = str(config.sandbox_relay_port)
    return env


def service_programs(config: StackConfig, mongo: MongoEndpoint) -> tuple[list[Program], list[str]]:
    """Programs for the services whose console script is installed, and the missing scripts."""
    programs, missing = [], []
    for spec in config.services:
        script = config.bin_dir / spec.script
        if not script.exists():
            missing.append(spec.script)
            continue
        programs.append(
            Program(
                spec.name,
                SERVICES_GROUP,
                [str(script)],
                spec.metrics_port,
                env=service_env(config, mongo, spec),
                autostart=False,
            )
        )
    return programs, missing
