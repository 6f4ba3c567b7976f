"""WebSockets: ``/ws`` (subscribe to several streams) and ``/ws/backtests/{id}``.

``/ws`` messages from the client::

    {"op": "subscribe", "channel": "backtest", "id": "bt_..."}
    {"op": "subscribe", "channel": "candles", "symbol": "BTCUSDT", "interval": "1m"}
    {"op": "subscribe", "channel": "fills" | "signals" | "portfolio", "account": "acc-1"}
    {"op": "unsubscribe", ...same fields...}

and from the server: ``{"type": "subscribed" | "unsubscribed", "channel", "key"}``,
``{"type": "event", "channel", "key", "data"}``, ``{"type": "state", ...}`` (a backtest's
current state, sent on subscribe) and ``{"type": "error", "code", "message"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.encoders import jsonable_encoder
from starlette.responses import JSONResponse

from kwont_gateway import backtests
from kwont_gateway.accounts import require_account
from kwont_gateway.errors import ApiError, invalid
from kwont_gateway.hub import Push
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway
from kwont_gateway.streams import backtest_updates
from kwont_gateway.ws_gate import close_when_revoked, ws_principal

router = APIRouter(tags=["websocket"])
ACCOUNT_CHANNELS = ("fills", "signals", "portfolio")


@router.websocket("/ws/backtests/{job_id}")
async def backtest_socket(websocket: WebSocket, job_id: str) -> None:
    """The job's current state, its progress, then its result; then the server closes."""
    gw: Gateway = websocket.app.state.gateway
    stream = backtest_updates(gw, ws_principal(websocket), job_id)
    try:
        first = await anext(stream)
    except ApiError as exc:
        await websocket.send_denial_response(JSONResponse(exc.body(), status_code=exc.status))
        return
    await websocket.accept()
    try:
        await _send(websocket, {"type": first[0], "data": first[1]})
        async for kind, data in stream:
            await _send(websocket, {"type": kind, "data": data})
        await websocket.close()
    except WebSocketDisconnect:
        pass
    finally:
        await stream.aclose()


async def _key(gw: Gateway, principal: Principal, msg: dict[str, Any]) -> tuple[str, str]:
    """The hub topic a subscribe/unsubscribe message names, after the ownership check."""
    channel = msg.get("channel")
    if channel == "backtest":
        job_id = str(msg.get("id", ""))
        await backtests.get_doc(gw, principal, job_id)
        return channel, job_id
    if channel == "candles":
        symbol, interval = str(msg.get("symbol", "")).upper(), str(msg.get("interval", ""))
        if not symbol or not interval:
            raise invalid("candles needs symbol and interval", "symbol")
        return channel, f"{symbol}:{interval}"
    if channel in ACCOUNT_CHANNELS:
        account = str(msg.get("account", ""))
        await require_account(gw, principal, account)
        return channel, account
    raise invalid(
        f"unknown channel {channel!r}; use backtest, candles, {', '.join(ACCOUNT_CHANNELS)}",
        "channel",
    )


@router.websocket("/ws")
async def multiplex_socket(websocket: WebSocket) -> None:
    """Subscribe and unsubscribe to backtests, candles, signals, fills and portfolios."""
    gw: Gateway = websocket.app.state.gateway
    principal = ws_principal(websocket)
    await websocket.accept()
    out: asyncio.Queue[Any] = asyncio.Queue(1000)
    subs: set[tuple[str, str]] = set()
    writer = asyncio.create_task(_write(websocket, out))
    watch = asyncio.create_task(close_when_revoked(websocket, principal))
    try:
        while True:
            msg = await websocket.receive_json()
            if not isinstance(msg, dict):
                await out.put(
                    {"type": "error", "code": "invalid_request", "message": "send a JSON object"}
                )
                continue
            try:
                await _handle(gw, principal, msg, out, subs)
            except ApiError as exc:
                await out.put({"type": "error", "code": exc.code, "message": exc.message})
    except (WebSocketDisconnect, ValueError):  # gone, or not JSON
        pass
    finally:
        for channel, key in subs:
            gw.hub.remove(channel, key, out)
        for task in (writer, watch):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _handle(
    gw: Gateway,
    principal: Principal,
    msg: dict[str, Any],
    out: asyncio.Queue[Any],
    subs: set[tuple[str, str]],
) -> None:
    op = msg.get("op")
    if op == "ping":
        await out.put({"type": "pong"})
        return
    if op not in ("subscribe", "unsubscribe"):
        raise invalid(f"unknown op {op!r}; use subscribe, unsubscribe or ping", "op")
    channel, key = await _key(gw, principal, msg)
    if op == "unsubscribe":
        gw.hub.remove(channel, key, out)
        subs.discard((channel, key))
        await out.put({"type": "unsubscribed", "channel": channel, "key": key})
        return
    gw.hub.add(channel, key, out)
    subs.add((channel, key))
    await out.put({"type": "subscribed", "channel": channel, "key": key})
    if channel == "backtest":
        doc = await backtests.get_doc(gw, principal, key)
        await out.put(
            {"type": "state", "channel": channel, "key": key, "data": backtests.public(doc)}
        )


async def _write(websocket: WebSocket, out: asyncio.Queue[Any]) -> None:
    while True:
        item = await out.get()
        if isinstance(item, Push):
            item = {"type": "event", "channel": item.channel, "key": item.key, "data": item.data}
        await _send(websocket, item)


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(jsonable_encoder(message)))
