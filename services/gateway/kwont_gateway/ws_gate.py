"""Authentication of WebSocket handshakes, before any route runs.

A WebSocket carries its credentials in the handshake: ``Authorization: Bearer`` or
``X-API-Key`` headers, or the ``access_token`` / ``api_key`` query parameters (browsers
cannot set headers). A handshake without valid credentials is answered with a plain HTTP 401
in the API's error shape; otherwise the principal is put in ``websocket.state.principal``.
An open ``/ws`` connection is closed (1008) within ``ws_session_check_s`` of a revocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pymongo.errors import PyMongoError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from kwont_gateway.auth import authenticate
from kwont_gateway.deps import connection_credentials
from kwont_gateway.errors import ApiError
from kwont_gateway.principal import Principal
from kwont_gateway.sessions import current_version

log = logging.getLogger(__name__)


class WebSocketGate:
    """ASGI middleware: authenticate every WebSocket handshake or deny it with 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass HTTP through; authenticate a WebSocket handshake, denying it with the API error
        (or closing with 1008) when that fails."""
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        try:
            bearer, key = connection_credentials(connection)
            principal = await authenticate(connection.app.state.gateway, bearer, key)
        except ApiError as exc:
            websocket = WebSocket(scope, receive, send)
            response = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
            if "websocket.http.response" in scope.get("extensions", {}):
                await websocket.send_denial_response(response)
            else:
                await websocket.close(code=1008, reason=exc.message)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def ws_principal(websocket: WebSocket) -> Principal:
    """The principal the gate stored for this connection."""
    principal: Principal = websocket.state.principal
    return principal


async def close_when_revoked(websocket: WebSocket, principal: Principal) -> None:
    """Close an open connection (1008) once its user's sessions are revoked: the version
    is re-checked every ``ws_session_check_s``. Run it as a task beside the connection."""
    gw = websocket.app.state.gateway
    while True:
        await asyncio.sleep(gw.settings.ws_session_check_s)
        try:
            revoked = await current_version(gw, principal.user_id) != principal.version
        except PyMongoError as exc:  # a database hiccup must not drop the connection
            log.warning("could not re-check the session of a WebSocket: %s", exc)
            continue
        if revoked:
            with contextlib.suppress(RuntimeError):  # the client closed it meanwhile
                await websocket.close(code=1008, reason="session revoked; log in again")
            return
