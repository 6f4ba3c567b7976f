"""The two ways out: a signed webhook POST and a Telegram message, each retried with
exponential backoff and jitter by tenacity. A channel only sends; what was attempted is
handed back for the delivery history (:class:`Outcome`), never raised."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import telegram
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from kwont_notifier.settings import NotifierSettings
from kwont_notifier.signing import HEADER, sign


class Retryable(Exception):
    """This attempt failed in a way another attempt may not (a network error, a 5xx, a 429)."""


class Refused(Exception):
    """The other side refused for good (a 4xx, a chat the bot may not write to): no retry."""


@dataclass
class Outcome:
    """How a delivery went: ``ok`` after its last attempt, and every attempt made."""

    ok: bool = False
    attempts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def now_ms() -> int:
    """Wall-clock time in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class Channels:
    """Sends for every subscription; one HTTP client and one Telegram bot per process."""

    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=settings.webhook_timeout_s)
        self._bot: telegram.Bot | None = None

    async def close(self) -> None:
        """Close the HTTP client and shut the Telegram bot down."""
        await self.http.aclose()
        if self._bot is not None:
            await self._bot.shutdown()

    def _retrying(self) -> AsyncRetrying:
        s = self.settings
        return AsyncRetrying(
            stop=stop_after_attempt(s.webhook_max_attempts),
            wait=wait_exponential_jitter(
                multiplier=s.webhook_backoff_initial_s,
                max=s.webhook_backoff_max_s,
                jitter=s.webhook_backoff_jitter_s,
            ),
            retry=retry_if_exception_type(Retryable),
        )

    async def _with_retries(self, attempt: Callable[[], Awaitable[dict[str, Any]]]) -> Outcome:
        outcome = Outcome()
        try:
            async for trying in self._retrying():
                with trying:
                    started = now_ms()
                    try:
                        record = await attempt()
                    except (Retryable, Refused) as exc:
                        outcome.attempts.append({"at": started, "ok": False, "error": str(exc)})
                        outcome.error = str(exc)
                        raise
                    outcome.attempts.append({"at": started, "ok": True, **record})
            outcome.ok, outcome.error = True, None
        except (RetryError, Refused):
            outcome.ok = False
        return outcome

    async def webhook(self, sub: dict[str, Any], body: dict[str, Any], delivery_id: str) -> Outcome:
        """POST ``body`` to the subscription's URL, signed with its secret."""
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

        async def attempt() -> dict[str, Any]:
            headers = {
                "content-type": "application/json",
                HEADER: sign(sub["secret"], raw, int(time.time())),
                "X-Kwont-Delivery": delivery_id,
                "X-Kwont-Event": str(body.get("kind")),
                "user-agent": "kwont-notifier",
            }
            try:
                r = await self.http.post(sub["url"], content=raw, headers=headers)
            except httpx.HTTPError as exc:
                raise Retryable(f"{type(exc).__name__}: {exc}") from exc
            if r.status_code >= 500 or r.status_code in (408, 429):
                raise Retryable(f"HTTP {r.status_code}")
            if r.status_code >= 300:
                raise Refused(f"HTTP {r.status_code}: the receiver refused the delivery")
            return {"status": r.status_code}

        return await self._with_retries(attempt)

    async def bot(self) -> telegram.Bot:
        """The bot, initialised on first use (its getMe) so the service starts without it.

        Raises:
            Refused: no bot token configured.
        """
        if self._bot is None:
            token = self.settings.telegram_bot_token
            if not token:
                raise Refused("Telegram is not configured: set KWONT_TELEGRAM_BOT_TOKEN")
            bot = telegram.Bot(token, base_url=self.settings.telegram_api_url)
            await bot.initialize()
            self._bot = bot
        return self._bot

    async def telegram(self, sub: dict[str, Any], text: str) -> Outcome:
        """Send ``text`` to the subscription's chat."""

        async def attempt() -> dict[str, Any]:
            try:
                bot = await self.bot()
                message = await bot.send_message(chat_id=sub["chat_id"], text=text)
            except (RetryAfter, TimedOut, NetworkError) as exc:  # BadRequest is a NetworkError
                if isinstance(exc, telegram.error.BadRequest):
                    raise Refused(f"Telegram refused: {exc.message}") from exc
                raise Retryable(f"Telegram: {exc}") from exc
            except TelegramError as exc:  # Forbidden, InvalidToken, ...
                raise Refused(f"Telegram refused: {exc.message}") from exc
            return {"message_id": message.message_id}

        return await self._with_retries(attempt)

    async def send(self, sub: dict[str, Any], body: dict[str, Any], delivery_id: str) -> Outcome:
        """Deliver ``body`` (with its ``text``) over the subscription's channel."""
        if sub.get("channel") == "telegram":
            return await self.telegram(sub, str(body.get("text", "")))
        return await self.webhook(sub, body, delivery_id)
