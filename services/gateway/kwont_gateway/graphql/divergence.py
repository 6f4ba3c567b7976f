"""GraphQL of divergence reports: the same plain functions and request model as
``/api/v1/deployments/{id}/divergence``; merged into the schema's Query and Mutation roots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from kwont_gateway import divergence
from kwont_gateway.deps import charge, client_ip
from kwont_gateway.graphql.mutations import Ctx, _model, _trader
from kwont_gateway.models.divergence import DivergenceCreate


@strawberry.type
class DivergenceJob:
    """A divergence job: status, progress, and the report once it succeeded."""

    id: strawberry.ID
    deployment_id: str
    status: str
    progress: JSON
    start_time: float = strawberry.field(description="Epoch ms.")
    end_time: float = strawberry.field(description="Epoch ms.")
    slippage_bps: float
    fee_bps: float
    warmup_bars: int
    submitted_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    report: JSON | None = strawberry.field(
        description="Once succeeded: summary, matched, missed, extra (docs/divergence.md)."
    )

    @classmethod
    def of(cls, d: dict[str, Any]) -> DivergenceJob:
        """From the dict divergence.public returns."""
        return cls(**{k: v for k, v in d.items() if k != "links"})


@strawberry.input
class DivergenceInput:
    """The range and re-run fill model; validated as the REST body DivergenceCreate."""

    start: str = strawberry.field(description="Epoch ms or ISO-8601.")
    end: str
    slippage_bps: float | None = None
    fee_bps: float | None = None
    warmup_bars: int | None = None


@strawberry.type
class DivergenceQuery:
    """Divergence jobs of the caller's deployments."""

    @strawberry.field
    async def divergence_job(
        self, info: Ctx, deployment_id: strawberry.ID, id: strawberry.ID
    ) -> DivergenceJob:
        """One divergence job of the caller's deployment, with its report when done."""
        ctx = info.context
        return DivergenceJob.of(
            await divergence.get(ctx.gw, ctx.principal, str(deployment_id), str(id))
        )

    @strawberry.field
    async def divergence_jobs(self, info: Ctx, deployment_id: strawberry.ID) -> list[DivergenceJob]:
        """The deployment's divergence jobs, newest first, without their reports."""
        ctx = info.context
        docs = await divergence.find(ctx.gw, ctx.principal, str(deployment_id))
        return [DivergenceJob.of(d) for d in docs]


@strawberry.type
class DivergenceMutation:
    """Submitting a divergence job."""

    @strawberry.mutation
    async def submit_divergence(
        self, info: Ctx, deployment_id: strawberry.ID, input: DivergenceInput
    ) -> DivergenceJob:
        """Queue a divergence report of a deployment (charged to the submit rate limit),
        like POST /api/v1/deployments/{id}/divergence; the queued job."""
        ctx = _trader(info)
        request = ctx.request
        await charge(ctx.gw, ctx.principal, client_ip(request) if request else "unknown", "submit")
        body = _model(DivergenceCreate, strawberry.asdict(input))
        accepted = await divergence.submit(ctx.gw, ctx.principal, str(deployment_id), body)
        return DivergenceJob.of(
            await divergence.get(ctx.gw, ctx.principal, str(deployment_id), accepted["job_id"])
        )
