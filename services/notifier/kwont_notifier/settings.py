"""Settings of the notifier service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from kwont_common.settings import Settings


class NotifierSettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9108, ge=0, le=65535, description="Port of /metrics and /healthz.")
    consumer_concurrency: int = Field(
        16,
        ge=1,
        description="Events the notifier delivers at once (one account's in order), so a "
        "webhook being retried holds up no other account.",
    )
    notify_rate_per_minute: int = Field(
        20,
        ge=1,
        description="Default messages per subscription per minute; beyond it events wait for "
        "the next digest (a subscription may set its own `rate_per_minute`).",
    )
    digest_interval_s: float = Field(
        60.0,
        gt=0,
        description="How often the events held back by the rate limit are sent, one digest "
        "per subscription listing every one of them.",
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description="Timeout of one webhook attempt.")
    webhook_max_attempts: int = Field(
        5, ge=1, description="Attempts of one delivery before it is dead-lettered."
    )
    webhook_backoff_initial_s: float = Field(
        1.0, gt=0, description="First retry wait; it doubles per attempt, plus jitter."
    )
    webhook_backoff_max_s: float = Field(60.0, gt=0, description="Longest retry wait.")
    webhook_backoff_jitter_s: float = Field(
        1.0, ge=0, description="Random extra wait, up to this much, added to each retry."
    )
    telegram_bot_token: str | None = Field(
        None, description="Token of the Telegram bot that sends messages (none: Telegram off)."
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot",
        description="Bot API base URL (python-telegram-bot's `base_url`; the token is appended).",
    )
    poll_interval_s: float = Field(
        1.0,
        gt=0,
        description="How often test sends queued by the API and new deployment errors are "
        "looked for.",
    )
