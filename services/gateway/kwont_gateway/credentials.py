"""A user's own Binance key pair on an account they own: checked against the venue with a
signed read, stored encrypted (:mod:`kwont_common.trading.credentials`), shown only as a
fingerprint and last four characters. REST and GraphQL call these functions."""

from __future__ import annotations

import time
from typing import Any

from binance import AsyncClient  # type: ignore[import-untyped]
from binance.exceptions import (  # type: ignore[import-untyped]
    BinanceAPIException,
    BinanceRequestException,
)

from kwont_common.trading import credentials
from kwont_gateway.accounts import require_account
from kwont_gateway.errors import ApiError, not_found
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway

EXCHANGE = "binance"


def keyring(gw: Gateway) -> credentials.Keyring:
    """The configured keyring. Raises ApiError 503 when none is configured."""
    s = gw.settings
    keys = s.credentials_keys.get_secret_value() if s.credentials_keys else None
    ring = credentials.Keyring.of(keys, s.credentials_keys_file)
    if ring is None:
        raise ApiError(503, "not_configured", "exchange credentials cannot be stored here: "
                       "the operator must set KWONT_CREDENTIALS_KEYS or "
                       "KWONT_CREDENTIALS_KEYS_FILE on the gateway and execution")  # fmt: skip
    return ring


async def check_with_venue(futures_url: str, api_key: str, api_secret: str) -> None:
    """A signed account read (``GET /fapi/v2/account``) with the pair.

    Raises:
        ApiError: 400 if Binance refuses the pair, 502 if Binance could not be asked.
    """
    cls: Any = type("CheckClient", (AsyncClient,), {"FUTURES_URL": futures_url.rstrip("/")})
    client = cls(api_key=api_key, api_secret=api_secret)
    try:
        server = await client.futures_time()
        client.timestamp_offset = int(server["serverTime"]) - int(time.time() * 1000)
        await client.futures_account()
    except BinanceAPIException as exc:
        if 400 <= int(exc.status_code) < 500 and int(exc.status_code) != 429:
            raise ApiError(400, "credentials_refused", (
                f"Binance refused this API key pair (code {exc.code}: {exc.message}); check "
                "the key and secret, that the key may read and trade USD-M futures, and that "
                "its IP allow-list admits this platform"), [{"field": "api_key"}],
            ) from None  # fmt: skip
        raise _unreachable() from None
    except (BinanceRequestException, OSError, TimeoutError, ValueError):
        raise _unreachable() from None
    finally:
        await client.close_connection()


def _unreachable() -> ApiError:
    return ApiError(502, "venue_unavailable", "Binance could not be asked to check the key "
                    "pair (no answer or a server error); try again in a minute")  # fmt: skip


async def attach(gw: Gateway, principal: Principal, account: str, api_key: str,
                 api_secret: str) -> dict[str, Any]:  # fmt: skip
    """Check, encrypt and store the pair for ``account`` (replacing the caller's earlier one).

    Raises:
        ApiError: 404 not the caller's account, 409 another user's pair is attached, 400
            Binance refused the pair, 502 Binance did not answer, 503 no encryption key.
    """
    await require_account(gw, principal, account)
    ring = keyring(gw)
    held = await credentials.find(gw.write, account)
    if held is not None and held.get("owner") != principal.user_id:
        raise ApiError(409, "conflict", f"account {account} already trades with another "
                       "user's key pair; that user must remove it first")  # fmt: skip
    await check_with_venue(gw.settings.binance_futures_url, api_key, api_secret)
    doc = credentials.sealed(ring, account, principal.user_id, EXCHANGE, api_key, api_secret)
    await gw.write[credentials.COLLECTION].replace_one({"_id": account}, doc, upsert=True)
    return credentials.public(doc)


async def shown(gw: Gateway, principal: Principal, account: str) -> dict[str, Any]:
    """The public view of the caller's pair on ``account``. Raises ApiError 404."""
    await require_account(gw, principal, account)
    doc = await credentials.find(gw.write, account)
    if doc is None or doc.get("owner") != principal.user_id:
        raise not_found("credentials of account", account)
    return credentials.public(doc)


async def remove(gw: Gateway, principal: Principal, account: str) -> None:
    """Delete the caller's pair on ``account``. Raises ApiError 404."""
    await require_account(gw, principal, account)
    done = await gw.write[credentials.COLLECTION].delete_one(
        {"_id": account, "owner": principal.user_id}
    )
    if done.deleted_count == 0:
        raise not_found("credentials of account", account)


async def reencrypt(gw: Gateway) -> int:
    """Every stored pair under the newest key (admin, after a new key was put first)."""
    return await credentials.reencrypt(gw.write, keyring(gw))
