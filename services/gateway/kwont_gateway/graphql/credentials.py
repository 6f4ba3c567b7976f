"""GraphQL of exchange key pairs: the same plain functions and request model as
``/api/v1/accounts/{account}/credentials``; merged into the schema's Query and Mutation roots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from kwont_gateway import credentials
from kwont_gateway.graphql.mutations import Ctx, _model, _trader
from kwont_gateway.models.credentials import CredentialsCreate


@strawberry.type
class ExchangeCredentials:
    """An attached pair as it may be shown: never the key or the secret."""

    account: str
    exchange: str
    fingerprint: str
    key_last4: str
    created_at: dt.datetime
    status: str
    reason: str | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, d: dict[str, Any]) -> ExchangeCredentials:
        """From :func:`kwont_common.trading.credentials.public`."""
        return cls(**d)


@strawberry.type
class CredentialsQuery:
    """Merged into the Query root."""

    @strawberry.field
    async def exchange_credentials(self, info: Ctx, account: str) -> ExchangeCredentials:
        """The caller's pair on ``account``, like GET /api/v1/accounts/{account}/credentials."""
        ctx = info.context
        return ExchangeCredentials.of(await credentials.shown(ctx.gw, ctx.principal, account))


@strawberry.type
class CredentialsMutation:
    """Merged into the Mutation root."""

    @strawberry.mutation
    async def attach_exchange_credentials(self, info: Ctx, account: str, api_key: str,
                                          api_secret: str) -> ExchangeCredentials:  # fmt: skip
        """Attach a Binance key pair to one of the caller's accounts (checked first), like
        PUT /api/v1/accounts/{account}/credentials."""
        ctx = _trader(info)
        body = _model(CredentialsCreate, {"api_key": api_key, "api_secret": api_secret})
        doc = await credentials.attach(ctx.gw, ctx.principal, account,
                                       body.api_key.get_secret_value(),
                                       body.api_secret.get_secret_value())  # fmt: skip
        return ExchangeCredentials.of(doc)

    @strawberry.mutation
    async def remove_exchange_credentials(self, info: Ctx, account: str) -> bool:
        """Remove the caller's pair on ``account``."""
        ctx = _trader(info)
        await credentials.remove(ctx.gw, ctx.principal, account)
        return True
