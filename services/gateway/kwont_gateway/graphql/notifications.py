"""GraphQL of notification subscriptions: the same plain functions and request model as
``/api/v1/notifications``; merged into the schema's Query and Mutation roots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from kwont_gateway import notifications, paging
from kwont_gateway.graphql.mutations import Ctx, _model, _trader
from kwont_gateway.models.notifications import SubscriptionCreate


@strawberry.type
class NotificationSubscription:
    """A notification subscription as GraphQL shows it (its webhook secret only on creation)."""

    id: strawberry.ID
    name: str | None
    kinds: list[str]
    channel: str
    account: str | None
    deployment_id: str | None
    url: str | None
    chat_id: JSON | None = strawberry.field(description="Telegram chat id (may exceed 32 bits).")
    rate_per_minute: int | None
    enabled: bool
    created_at: dt.datetime
    secret: str | None = strawberry.field(
        default=None, description="Webhook signing secret: only in the create answer."
    )

    @classmethod
    def of(cls, d: dict[str, Any], secret: str | None = None) -> NotificationSubscription:
        """The GraphQL view of a stored subscription, with ``secret`` when just created."""
        return cls(**notifications.public(d), secret=secret)


@strawberry.type
class NotificationDelivery:
    """One delivery (or digest) sent, or tried, to a subscription."""

    id: strawberry.ID
    subscription_id: str
    event_id: str | None
    kind: str
    status: str
    text: str
    digest_id: str | None
    error: str | None
    attempts: JSON
    created_at: float = strawberry.field(description="Epoch ms.")
    updated_at: float = strawberry.field(description="Epoch ms.")

    @classmethod
    def of(cls, d: dict[str, Any]) -> NotificationDelivery:
        """The GraphQL view of a stored delivery record."""
        return cls(**notifications.delivery_public(d))


@strawberry.input
class NotificationSubscriptionInput:
    """What a new subscription needs: the kinds, the channel and its target."""

    kinds: list[str]
    channel: str = "webhook"
    account: str | None = None
    deployment_id: str | None = None
    url: str | None = None
    chat_id: JSON | None = strawberry.field(default=None, description="Telegram chat id.")
    rate_per_minute: int | None = None
    name: str | None = None


@strawberry.type
class NotificationQuery:
    """Read a user's notification subscriptions and their deliveries."""

    @strawberry.field
    async def notification_subscriptions(self, info: Ctx) -> list[NotificationSubscription]:
        """The caller's subscriptions, newest first."""
        docs = await notifications.find(info.context.gw, info.context.principal)
        return [NotificationSubscription.of(d) for d in docs]

    @strawberry.field
    async def notification_deliveries(
        self, info: Ctx, subscription_id: strawberry.ID, limit: int = 50
    ) -> list[NotificationDelivery]:
        """The newest ``limit`` (1-500) deliveries of one of the caller's subscriptions."""
        ctx = info.context
        docs = await notifications.deliveries(
            ctx.gw, ctx.principal, str(subscription_id), paging.DELIVERIES.clamp(limit).limit
        )
        return [NotificationDelivery.of(d) for d in docs]


@strawberry.type
class NotificationMutation:
    """Create, delete and test notification subscriptions."""

    @strawberry.mutation
    async def create_notification_subscription(
        self, info: Ctx, input: NotificationSubscriptionInput
    ) -> NotificationSubscription:
        """Create a subscription; a webhook's signing secret is in this answer only."""
        ctx = _trader(info)
        body = _model(SubscriptionCreate, strawberry.asdict(input))
        doc = await notifications.create(ctx.gw, ctx.principal, body)
        return NotificationSubscription.of(doc, doc.get("secret"))

    @strawberry.mutation
    async def delete_notification_subscription(self, info: Ctx, id: strawberry.ID) -> bool:
        """Delete one of the caller's subscriptions; nothing more is sent to it."""
        ctx = _trader(info)
        await notifications.delete(ctx.gw, ctx.principal, str(id))
        return True

    @strawberry.mutation
    async def test_notification_subscription(
        self, info: Ctx, id: strawberry.ID
    ) -> NotificationDelivery:
        """Queue a test delivery to one of the caller's subscriptions."""
        ctx = _trader(info)
        return NotificationDelivery.of(
            await notifications.test_send(ctx.gw, ctx.principal, str(id))
        )
