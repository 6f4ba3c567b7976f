"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

``code`` is a stable machine code (``not_found``, ``invalid_request``...), ``message`` a
sentence a person can act on. Plain functions raise :class:`ApiError`; REST turns it into
this body, GraphQL into an error with the same code in ``extensions``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """What went wrong, for machines and for people."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["backtest 'bt_1' not found"])
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Body of every non-2xx answer."""

    error: ErrorDetail


class ApiError(Exception):
    """An answer other than success, with its HTTP status and machine code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        """The error as the API answers it: {"error": {"code", "message", "details"}}."""
        return ErrorBody(
            error=ErrorDetail(code=self.code, message=self.message, details=self.details)
        ).model_dump(exclude_none=True)


def not_found(what: str, ident: object) -> ApiError:
    """The one answer for missing objects and for other users' objects alike."""
    return ApiError(404, "not_found", f"{what} {str(ident)!r} not found")


async def owned(collection: Any, what: str, ident: str, owner: str) -> dict[str, Any]:
    """The owner's document ``ident`` in ``collection`` (one read).

    Raises:
        ApiError: 404 when it does not exist or belongs to someone else (never 403).
    """
    doc = await collection.find_one({"_id": ident, "owner": owner})
    if doc is None:
        raise not_found(what, ident)
    return dict(doc)


def unauthorized(
    message: str = "authentication required: send a bearer token or API key",
) -> ApiError:
    """A 401 asking for credentials (with WWW-Authenticate: Bearer)."""
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    """A 403: the caller is known but may not do this; message says why."""
    return ApiError(403, "forbidden", message)


def invalid(message: str, field: str | None = None) -> ApiError:
    """A 422 invalid_request naming the offending field, when there is one."""
    details = [{"field": field}] if field else None
    return ApiError(422, "invalid_request", message, details)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "The body could not be parsed (not JSON, or not a form)",
        401: "Missing or invalid credentials",
        403: "Authenticated, but the role or key scope does not allow this",
        404: "No such object among yours",
        422: "The request is not valid; the message names the field",
        429: "Rate limit or job quota exceeded; see Retry-After",
    }.items()
}


def _json(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the one error shape."""

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        message = f"{_where(first['loc'])}: {first['msg']}"
        details = [{"field": _where(e["loc"]), "message": e["msg"]} for e in errors]
        return _json(ApiError(422, "invalid_request", message, details))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        headers = dict(exc.headers) if exc.headers else None
        error = ApiError(exc.status_code, code, str(exc.detail), headers=headers)
        return _json(error)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(ApiError(500, "internal", "internal error; it has been logged"))
