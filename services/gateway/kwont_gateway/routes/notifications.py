"""``/notifications``: subscriptions to trading and job events, their test send and their
delivery history (docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response, status

from kwont_gateway import notifications, paging
from kwont_gateway.deps import GatewayDep, Reader, Trader
from kwont_gateway.models.notifications import (
    DeliveryPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
)
from kwont_gateway.paging import Page

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.post("/subscriptions", response_model=SubscriptionCreated, status_code=201)
async def create_subscription(
    gw: GatewayDep, principal: Trader, body: SubscriptionCreate
) -> dict[str, Any]:
    """Subscribe; a webhook's signing secret is in this answer only."""
    doc = await notifications.create(gw, principal, body)
    return {**notifications.public(doc), "secret": doc.get("secret")}


@router.get("/subscriptions", response_model=list[SubscriptionPublic])
async def list_subscriptions(gw: GatewayDep, principal: Reader) -> list[dict[str, Any]]:
    """List your notification subscriptions, newest first."""
    return [notifications.public(d) for d in await notifications.find(gw, principal)]


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
async def get_subscription(
    gw: GatewayDep, principal: Reader, subscription_id: str
) -> dict[str, Any]:
    """One of your notification subscriptions."""
    return notifications.public(await notifications.get(gw, principal, subscription_id))


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def delete_subscription(gw: GatewayDep, principal: Trader, subscription_id: str) -> Response:
    """Delete one of your subscriptions; its delivery records stay."""
    await notifications.delete(gw, principal, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/subscriptions/{subscription_id}/test", response_model=DeliveryPublic, status_code=202
)
async def test_subscription(
    gw: GatewayDep, principal: Trader, subscription_id: str
) -> dict[str, Any]:
    """Queue a test message; its outcome appears in the delivery history."""
    doc = await notifications.test_send(gw, principal, subscription_id)
    return notifications.delivery_public(doc)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryPublic])
async def list_deliveries(
    gw: GatewayDep,
    principal: Reader,
    page: Annotated[Page, paging.query(paging.DELIVERIES)],
    subscription_id: str,
) -> list[dict[str, Any]]:
    """Newest first: each delivery, digest and test send with its attempts."""
    docs = await notifications.deliveries(gw, principal, subscription_id, page.limit)
    return [notifications.delivery_public(d) for d in docs]
