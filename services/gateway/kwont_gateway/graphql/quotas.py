"""GraphQL of job quotas: the same plain functions as ``/api/v1/quotas``; merged into the
schema's Query and Mutation roots."""

from __future__ import annotations

from enum import Enum

import strawberry

from kwont_gateway import quotas
from kwont_gateway.auth import require_admin
from kwont_gateway.deps import client_ip
from kwont_gateway.graphql.mutations import Ctx, _model
from kwont_gateway.models.quotas import QuotaSet


@strawberry.enum
class QuotaScope(Enum):
    """Whom an override is for."""

    USER = "user"
    ROLE = "role"


@strawberry.type
class QuotaUsage:
    """Your limit, its source (user, role, default) and your queued jobs."""

    max_queued: int
    source: str
    queued: int


@strawberry.type
class QuotaOverride:
    """One override as stored."""

    scope: str
    target: str
    max_queued: int


@strawberry.type
class QuotaQuery:
    """Quota queries."""

    @strawberry.field
    async def my_quota(self, info: Ctx) -> QuotaUsage:
        """Your queued-jobs limit, its source and your queued jobs, like GET /quotas/me."""
        return QuotaUsage(**await quotas.usage(info.context.gw, info.context.principal))


@strawberry.type
class QuotaMutation:
    """Quota mutations (admin only)."""

    @strawberry.mutation
    async def set_quota(
        self, info: Ctx, scope: QuotaScope, target: str, max_queued: int
    ) -> QuotaOverride:
        """Admin only: a user's or a role's queued-jobs limit (audited as quota.set)."""
        ctx = info.context
        require_admin(ctx.principal)
        body = _model(QuotaSet, {"max_queued": max_queued})
        ip = client_ip(ctx.request) if ctx.request else "unknown"
        doc = await quotas.set_override(
            ctx.gw, ctx.principal, ip, scope.value, target, body.max_queued
        )
        return QuotaOverride(scope=doc["scope"], target=doc["target"], max_queued=doc["max_queued"])
