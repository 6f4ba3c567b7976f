"""python-binance's ``AsyncClient`` for USD-M futures at the configured bases, with every
request and its answer written to ``execution_audit`` (the shape of ``audit.py``: ``time``
epoch ms, ``venue``, ``account``, ``symbol``, ``client_order_id``, ``correlation_id``,
``request`` {method, path, params without signature}, ``response`` {status, body}).

The base URLs are class attributes of a subclass (python-binance formats them at
construction, so instance attributes would come too late); tests point them at a local
server speaking Binance's wire format. The audit hooks ``_request``, the one method every
REST call of python-binance goes through, so no call can bypass it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from binance import AsyncClient, BinanceSocketManager  # type: ignore[import-untyped]
from binance.exceptions import (  # type: ignore[import-untyped]
    BinanceAPIException,
    BinanceRequestException,
)

from kwont_common.errors import TransientError

log = logging.getLogger(__name__)

AUDIT = "execution_audit"
_CONTEXT: contextvars.ContextVar[tuple[str | None, str | None, str | None]] = (
    contextvars.ContextVar("binance_audit_context", default=(None, None, None))
)
#: Binance codes that say "try again", not "refused": timestamps, overload, unknown status.
RETRYABLE_CODES = {-1000, -1001, -1003, -1006, -1007, -1008, -1021}
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    aiohttp.ClientError, BinanceRequestException, TimeoutError, ConnectionError,
)  # fmt: skip


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value) or None


@dataclass(frozen=True)
class BinanceVenueSettings:
    """What the Binance venue reads from the execution service's settings (``KWONT_*``)."""

    api_key: str | None = None
    api_secret: str | None = None
    futures_url: str = "https://fapi.binance.com/fapi"
    futures_stream_url: str = "wss://fstream.binance.com/"
    margin_type: str = "ISOLATED"
    fill_timeout_s: float = 10.0
    listen_key_keepalive_s: float = 1800.0

    @classmethod
    def of(cls, settings: Any) -> BinanceVenueSettings:
        """From the service's settings object; absent fields keep the defaults above."""
        d = cls()
        return cls(
            api_key=_secret(getattr(settings, "binance_api_key", None)),
            api_secret=_secret(getattr(settings, "binance_api_secret", None)),
            futures_url=getattr(settings, "binance_futures_url", d.futures_url),
            futures_stream_url=getattr(settings, "binance_futures_stream_url",
                                       d.futures_stream_url),
            margin_type=getattr(settings, "binance_margin_type", d.margin_type),
            fill_timeout_s=float(getattr(settings, "binance_fill_timeout_s", d.fill_timeout_s)),
            listen_key_keepalive_s=float(getattr(settings, "binance_listen_key_keepalive_s",
                                                 d.listen_key_keepalive_s)),
        )  # fmt: skip


@contextlib.contextmanager
def audit_context(account: str | None, client_order_id: str | None,
                  correlation_id: Any = None) -> Iterator[None]:  # fmt: skip
    """Label the audit records of the calls made inside with an account and order."""
    corr = None if correlation_id is None else str(correlation_id)
    token = _CONTEXT.set((account, client_order_id, corr))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class AuditedClient(AsyncClient):  # type: ignore[misc]
    """``AsyncClient`` that records each REST exchange in ``execution_audit``."""

    audit: Any = None  # the audit collection, set by ``connect``

    async def _request(
        self, method: str, uri: str, signed: bool, force_params: bool = False, **kwargs: Any
    ) -> Any:
        # Copied before python-binance adds timestamp and signature to the same dict.
        params = {k: str(v) for k, v in (kwargs.get("data") or {}).items() if k != "signature"}
        started = time.monotonic()
        try:
            body = await super()._request(method, uri, signed, force_params, **kwargs)
        except BinanceAPIException as exc:
            await self._record(method, uri, params, exc.status_code,
                               {"code": exc.code, "msg": exc.message}, started)  # fmt: skip
            raise
        except NETWORK_ERRORS as exc:
            await self._record(method, uri, params, None, {"error": repr(exc)}, started)
            raise
        await self._record(method, uri, params, getattr(self.response, "status", 200), body,
                           started)  # fmt: skip
        return body

    async def _record(self, method: str, uri: str, params: dict[str, str], status: int | None,
                      body: Any, started: float) -> None:  # fmt: skip
        if self.audit is None:
            return
        account, coid, correlation_id = _CONTEXT.get()
        await self.audit.insert_one({
            "time": time.time_ns() // 1_000_000, "venue": "binance", "account": account,
            "symbol": params.get("symbol"), "client_order_id": coid,
            "correlation_id": correlation_id,
            "request": {"method": method.upper(), "path": urlsplit(uri).path, "params": params},
            "response": {"status": status, "body": body},
            "duration_ms": round((time.monotonic() - started) * 1000, 3),
        })  # fmt: skip


def is_refusal(exc: BaseException) -> bool:
    """Whether Binance refused the request for good (a business or validation error), as
    opposed to a failure worth retrying (network, overload, 5xx, clock skew)."""
    if not isinstance(exc, BinanceAPIException):
        return False
    status = int(exc.status_code)
    return 400 <= status < 500 and status not in (408, 418, 429) and exc.code not in RETRYABLE_CODES


def transient(exc: BaseException, what: str) -> TransientError:
    """A ``TransientError`` for a retryable failure of ``what``."""
    return TransientError(f"Binance {what}: {exc}")


async def connect(settings: BinanceVenueSettings, audit: Any) -> AuditedClient:
    """A client at the configured futures base, its clock aligned with the exchange's.

    Raises:
        TransientError: the exchange did not answer the ping / time requests.
    """
    cls: Any = type("ConfiguredFuturesClient", (AuditedClient,), {
        "FUTURES_URL": settings.futures_url.rstrip("/"),
    })  # fmt: skip
    client = cls(api_key=settings.api_key, api_secret=settings.api_secret)
    client.audit = audit
    try:
        await client.futures_ping()
        server = await client.futures_time()
    except (BinanceAPIException, *NETWORK_ERRORS) as exc:
        await client.close_connection()
        raise transient(exc, "unreachable") from exc
    client.timestamp_offset = int(server["serverTime"]) - int(time.time() * 1000)
    return client  # type: ignore[no-any-return]


def socket_manager(settings: BinanceVenueSettings, client: AuditedClient) -> Any:
    """A ``BinanceSocketManager`` whose futures streams live at the configured base."""
    base = settings.futures_stream_url.rstrip("/") + "/"
    cls: Any = type("ConfiguredSocketManager", (BinanceSocketManager,), {"FSTREAM_URL": base})
    return cls(client, user_timeout=settings.listen_key_keepalive_s)
