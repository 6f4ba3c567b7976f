"""Notification subscriptions and their delivery history (the notifier service sends)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, HttpUrl, model_validator

from kwont_common.notification_kinds import NotificationKind


class SubscriptionCreate(BaseModel):
    """Subscribe to event kinds of one account, one deployment, or (neither) all of yours,
    over a webhook or Telegram."""

    kinds: list[NotificationKind] = Field(min_length=1, examples=[["fill", "kill_switch"]])
    channel: Literal["webhook", "telegram"] = "webhook"
    account: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", examples=["paper-1"])
    deployment_id: str | None = Field(None, min_length=1, max_length=80)
    url: HttpUrl | None = Field(None, description="Webhook URL (http or https).")
    chat_id: int | None = Field(
        None, ge=-(10**15), le=10**15, description="Telegram chat id the bot writes to."
    )
    rate_per_minute: int | None = Field(
        None, ge=1, le=600, description="Messages per minute before a digest (default 20)."
    )
    name: str | None = Field(None, max_length=80)

    @model_validator(mode="after")
    def _channel_target(self) -> SubscriptionCreate:
        if self.channel == "webhook" and self.url is None:
            raise ValueError("a webhook subscription needs `url`, e.g. https://example.com/hook")
        if self.channel == "telegram" and self.chat_id is None:
            raise ValueError("a telegram subscription needs `chat_id`, the chat the bot writes to")
        if self.account is not None and self.deployment_id is not None:
            raise ValueError("give `account` or `deployment_id`, not both (a deployment has one)")
        return self


class SubscriptionPublic(BaseModel):
    """A subscription as the API shows it (never its webhook secret)."""

    id: str
    name: str | None = None
    kinds: list[str]
    channel: str
    account: str | None = None
    deployment_id: str | None = None
    url: str | None = None
    chat_id: int | None = None
    rate_per_minute: int | None = None
    enabled: bool
    created_at: dt.datetime


class SubscriptionCreated(SubscriptionPublic):
    """The answer to creating a subscription: the public view plus the webhook's secret."""

    secret: str | None = Field(
        None,
        description="Webhook signing secret (HMAC-SHA256), shown only in this answer; "
        "docs/notifications.md shows how to verify a delivery with it.",
    )


class DeliveryPublic(BaseModel):
    """One delivery (or digest, or test send) and every attempt made."""

    id: str
    subscription_id: str
    event_id: str | None = None
    kind: str
    status: str = Field(
        description="test_queued, claimed, sending, sent, digest_pending, digesting, "
        "digested or dead_letter."
    )
    text: str
    digest_id: str | None = None
    error: str | None = None
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    created_at: int = Field(description="Epoch ms.")
    updated_at: int = Field(description="Epoch ms.")
