"""Exchange key pairs on the caller's accounts, and their re-encryption by an admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from kwont_gateway import audit, credentials
from kwont_gateway.deps import Admin, GatewayDep, Reader, Trader, client_ip
from kwont_gateway.errors import ErrorBody
from kwont_gateway.models.credentials import CredentialsCreate, CredentialsPublic, Reencrypted

router = APIRouter(tags=["credentials"])
NOT_CONFIGURED: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "No credentials encryption key is configured"}
}
ATTACH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Binance refused the key pair (its code quoted)"},
    409: {"model": ErrorBody, "description": "Another user's pair is on the account"},
    502: {"model": ErrorBody, "description": "Binance could not be asked; try again"},
    **NOT_CONFIGURED,
}


@router.put(
    "/accounts/{account}/credentials", response_model=CredentialsPublic, responses=ATTACH_ERRORS
)
async def attach_credentials(
    gw: GatewayDep, principal: Trader, account: str, body: CredentialsCreate
) -> dict[str, Any]:
    """Attach your Binance key pair to your account (checked with a signed read first)."""
    return await credentials.attach(gw, principal, account, body.api_key.get_secret_value(),
                                    body.api_secret.get_secret_value())  # fmt: skip


@router.get("/accounts/{account}/credentials", response_model=CredentialsPublic)
async def show_credentials(gw: GatewayDep, principal: Reader, account: str) -> dict[str, Any]:
    """Your pair on the account: fingerprint, last four, status (never the key or secret)."""
    return await credentials.shown(gw, principal, account)


@router.delete("/accounts/{account}/credentials", status_code=status.HTTP_204_NO_CONTENT)
async def remove_credentials(gw: GatewayDep, principal: Trader, account: str) -> None:
    """Remove your pair; the account's Binance orders are rejected until a new one."""
    await credentials.remove(gw, principal, account)


@router.post("/admin/credentials/reencrypt", response_model=Reencrypted, responses=NOT_CONFIGURED)
async def reencrypt_credentials(gw: GatewayDep, principal: Admin, request: Request) -> Any:
    """Re-encrypt every stored pair under the newest key (run after putting a new key first
    in KWONT_CREDENTIALS_KEYS on every gateway and execution; then drop the old key)."""
    count = await credentials.reencrypt(gw)
    await audit.record(gw, principal, client_ip(request), "credentials.reencrypt",
                       "exchange_credentials", {"count": count})  # fmt: skip
    return {"reencrypted": count}
