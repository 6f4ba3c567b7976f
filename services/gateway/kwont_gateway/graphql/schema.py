"""The schema, its limits, the error codes, and the router mounted at ``/graphql``."""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.tools import merge_types

from kwont_gateway.errors import ApiError
from kwont_gateway.graphql.context import get_context
from kwont_gateway.graphql.credentials import CredentialsMutation, CredentialsQuery
from kwont_gateway.graphql.divergence import DivergenceMutation, DivergenceQuery
from kwont_gateway.graphql.mutations import Mutation
from kwont_gateway.graphql.notifications import NotificationMutation, NotificationQuery
from kwont_gateway.graphql.queries import Query
from kwont_gateway.graphql.quotas import QuotaMutation, QuotaQuery
from kwont_gateway.graphql.subscriptions import Subscription

MAX_DEPTH = 6
MAX_ALIASES = 15
MAX_TOKENS = 2000


class ErrorCodes(SchemaExtension):
    """Gives GraphQL errors the REST error's machine code: ``extensions.code``."""

    def on_operation(self) -> Iterator[None]:
        """After the operation, give each error raised as an ApiError its code and HTTP status in
        extensions."""
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            original = error.original_error
            if isinstance(original, ApiError):
                error.extensions = {"code": original.code, "status": original.status}


schema = strawberry.Schema(
    query=merge_types(
        "Query", (Query, NotificationQuery, DivergenceQuery, CredentialsQuery, QuotaQuery)
    ),
    mutation=merge_types(
        "Mutation",
        (Mutation, NotificationMutation, DivergenceMutation, CredentialsMutation, QuotaMutation),
    ),
    subscription=Subscription,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        ErrorCodes,
    ],
)


def graphql_router() -> GraphQLRouter[object, None]:
    """``/graphql``: POST queries and mutations, WebSocket subscriptions. No GET (queries are
    not cached by URL) and no in-browser IDE: /docs documents the REST API."""
    return GraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide=None,
        allow_queries_via_get=False,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
        include_in_schema=False,
    )
