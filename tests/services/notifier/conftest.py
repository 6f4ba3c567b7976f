"""The notifier against the session's real broker and MongoDB, a local webhook receiver and
a local stand-in of Telegram's Bot API (the real python-telegram-bot talks to it over HTTP)."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from pymongo import AsyncMongoClient

from kwont_common.events import Fill, RiskRejection
from kwont_common.kafka.admin import ensure_topics
from kwont_common.testing import service_settings, serving
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_notifier.main import setup
from kwont_notifier.settings import NotifierSettings

T0 = 1_700_000_000_000
SECRET = "whsec-test-secret"


def make_settings(bootstrap: str, mongo_uri: str, database: str, **kw: Any) -> NotifierSettings:
    fast = {"webhook_backoff_initial_s": 0.05, "webhook_backoff_max_s": 0.2,
            "webhook_backoff_jitter_s": 0.05, "webhook_max_attempts": 3,
            "poll_interval_s": 0.2, "webhook_timeout_s": 5}  # fmt: skip
    return service_settings(
        NotifierSettings, "notifier", bootstrap, mongo_uri, database, **{**fast, **kw}
    )


@pytest.fixture
async def db(mongo: MongoEndpoint, mongo_db: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    try:
        yield client[mongo_db]
    finally:
        await client.close()


@asynccontextmanager
async def running(settings: NotifierSettings) -> AsyncIterator[None]:
    await ensure_topics(settings)
    async with serving(settings, setup):
        yield


@dataclass
class Receiver:
    """A webhook receiver: answers 500 to the first ``fail_first`` requests (or all, with
    ``fail_always``), records every request it gets."""

    url: str = ""
    fail_first: int = 0
    fail_always: bool = False
    delay_s: float = 0.0
    requests: list[tuple[dict[str, str], bytes, float]] = field(default_factory=list)
    seen: int = 0

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for _, raw, _ in self.requests]


@dataclass
class BotApi:
    """Telegram's Bot API as far as python-telegram-bot uses it to send: ``getMe`` and
    ``sendMessage`` under ``/bot<token>/``, answering Bot API JSON."""

    url: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, int(port)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        state.seen += 1
        failing = state.fail_always or state.seen <= state.fail_first
        state.requests.append((dict(request.headers), raw, time.time()))
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        return web.Response(status=500 if failing else 204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, port = await _serve(app)
    state.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApi]:
    state = BotApi()

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        state.calls.append(name)
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        if name == "getMe":
            result: Any = {"id": 7, "is_bot": True, "first_name": "Kwont", "username": "kwont_bot"}
        elif name == "sendMessage":
            chat_id = int(params["chat_id"])
            chat = {"id": chat_id, "type": "private"}
            result = {"message_id": len(state.messages) + 1, "date": int(time.time()),
                      "chat": chat, "text": params["text"]}  # fmt: skip
            state.messages.append({"chat_id": chat_id, "text": params["text"]})
        else:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.json_response({"ok": True, "result": result})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    runner, port = await _serve(app)
    state.url = f"http://127.0.0.1:{port}/bot"
    try:
        yield state
    finally:
        await runner.cleanup()


async def own_account(db: Any, owner: str, account: str) -> None:
    await db.deployments.insert_one(
        {"_id": f"dep-{account}", "account": account, "owner": owner, "strategy": "sma_cross"}
    )


async def subscribe(db: Any, owner: str, account: str | None, kinds: list[str], **kw: Any) -> str:
    sub_id = f"nsub_{uuid.uuid4().hex[:12]}"
    doc = {"_id": sub_id, "owner": owner, "account": account, "deployment_id": None,
           "kinds": kinds, "channel": "webhook", "secret": SECRET, "enabled": True,
           "rate_per_minute": 1000, "created_at": T0, **kw}  # fmt: skip
    await db.notification_subscriptions.insert_one(doc)
    return sub_id


def fill(account: str, n: int, **kw: Any) -> Fill:
    fields: dict[str, Any] = {
        "event_time": T0 + n, "source": "test", "account": account, "symbol": "BTCUSDT",
        "correlation_id": uuid.uuid4(), "client_order_id": f"ke-{uuid.uuid4().hex}",
        "venue": "paper", "trade_id": f"t-{n}", "side": "BUY",
        "quantity": Decimal("0.01"), "price": Decimal("50000"), "fee": Decimal("0.5"),
    }  # fmt: skip
    fields.update(kw)
    return Fill.model_validate(fields)


def rejection(account: str, code: str, reason: str) -> RiskRejection:
    return RiskRejection(
        event_time=T0, source="test", account=account, symbol="BTCUSDT",
        correlation_id=uuid.uuid4(), signal_id=uuid.uuid4(), code=code, reason=reason,
    )  # fmt: skip


async def until(condition: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy; return it."""
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.05)
