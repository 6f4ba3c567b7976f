"""One pydantic ``Settings`` for every service, read from ``KWONT_*`` environment variables.

Every field is documented in ``.env.example`` at the repository root; a test keeps the two in
step. Services subclass ``Settings`` to add their own fields (still with the ``KWONT_`` prefix).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Connection and runtime settings shared by all services."""

    model_config = SettingsConfigDict(env_prefix="KWONT_", extra="ignore", frozen=True)

    service_name: str = Field("kwont", description="Name used in logs, metrics and `source`.")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated Kafka bootstrap servers."
    )
    kafka_idempotence: bool = Field(
        True,
        description="Idempotent producer. Keep on for Apache Kafka; the embedded tansu broker "
        "does not support it (InitProducerId fails), so the embedded profile sets false.",
    )
    kafka_client_id: str | None = Field(None, description="Kafka client id (default: service).")
    kafka_fetch_max_wait_ms: int = Field(
        20,
        ge=1,
        description="Longest a fetch waits on the broker for data. tansu may hold a fetch for "
        "the wait even when data arrives (one hop alone, p50/p99: 5 ms -> 3/6 ms, 20 ms -> "
        "8/14 ms), but every idle consumer fetches once per wait: at 5 ms the services and "
        "tansu burnt about a core doing nothing, and the pipeline was no faster at 20 or 100 "
        "candles/s. Apache Kafka answers as soon as data arrives, so there a longer wait "
        "(e.g. 100) only saves idle fetches.",
    )
    kafka_fast_fetch_max_wait_ms: int = Field(
        5,
        ge=1,
        description="Fetch wait of the consumers on the candle -> fill path (strategy's "
        "candles, risk's signals, execution's orders; `Wiring(fast_fetch=True)`); every other "
        "consumer waits `kafka_fetch_max_wait_ms`. Three busy consumers polling at 5 ms cost "
        "little, and each hop is 5-10 ms shorter on tansu.",
    )
    kafka_background_fetch_max_wait_ms: int = Field(
        500,
        ge=1,
        description="Fetch wait of the consumers no trade waits for (execution's stop checks, "
        "portfolio's fills and marks, backtest-runner's jobs, the gateway's push feed): at "
        "rest each fetches twice a second instead of fifty times. On tansu their records "
        "arrive up to this much later; Apache Kafka answers as soon as data arrives.",
    )
    kafka_session_timeout_ms: int = Field(
        6_000,
        ge=1000,
        description="Consumer group session: a member that sends no heartbeat for this long "
        "(a killed process) is dropped and its partitions go to the others; heartbeats every "
        "third of it. A restarted replica waits about twice this before it gets partitions "
        "(measured: 10 s -> 21 s, 6 s -> 14 s). 6 s is Apache Kafka's least allowed "
        "(group.min.session.timeout.ms).",
    )
    topic_prefix: str = Field("", description="Prefix for every topic name, e.g. `prod.`.")
    topic_partitions: int = Field(3, ge=1, description="Partitions when creating topics.")
    topic_check_s: float = Field(
        5.0, gt=0, description="How often each service checks that its topics exist and "
        "recreates the missing ones (a broker restarted without its data).",
    )  # fmt: skip
    topic_replication_factor: int = Field(1, ge=1, description="Replication when creating topics.")
    consumer_group: str | None = Field(
        None, description="Consumer group id (default: `kwont-<service>`)."
    )
    consumer_concurrency: int = Field(
        16,
        ge=1,
        description="Messages handled at once by risk (signals and its book's fills, updates "
        "and snapshots: one account's in order) and execution (orders: one account:SYMBOL's "
        "in order), so one waiting account holds up no other; 1: one by one.",
    )
    handler_max_attempts: int = Field(
        5,
        ge=1,
        description="Attempts for a handler failing with an unexpected error before the "
        "message is dead-lettered. Transient errors are retried until shutdown.",
    )
    retry_backoff_max_s: float = Field(10.0, gt=0, description="Cap of the retry backoff.")
    startup_timeout_s: float = Field(
        60.0, gt=0, description="How long to wait for Kafka/Mongo/Redis at start-up."
    )
    mongo_uri: str = Field(
        "mongodb://127.0.0.1:27017/?authSource=admin",
        description="App user (readWrite). Writes go to the primary; reads use secondaryPreferred.",
    )
    mongo_readonly_uri: str = Field(
        "mongodb://127.0.0.1:27017/?authSource=admin",
        description="Read-only user for sandboxes (read on the market-data database only).",
    )
    mongo_admin_uri: str | None = Field(None, description="Admin user, provisioning only.")
    mongo_database: str = Field("kwont", description="Database for platform data.")
    mongo_market_database: str = Field("ohlcv", description="Database for market data.")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL.")
    metrics_host: str = Field("127.0.0.1", description="Bind address of /metrics and /healthz.")
    metrics_port: int = Field(9100, ge=0, le=65535, description="Port of /metrics and /healthz.")
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(True, description="JSON log lines (false: plain text).")
    run_dir: Path = Field(Path(".run"), description="Run directory of the embedded stack.")

    @property
    def group_id(self) -> str:
        """The consumer group of this service."""
        return self.consumer_group or f"kwont-{self.service_name}"
