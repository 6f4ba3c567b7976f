"""API keys for bots: shown once, stored hashed, scoped read or trade, expiring, revocable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from kwont_gateway import keys
from kwont_gateway.deps import GatewayDep, Reader
from kwont_gateway.models.auth import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic

router = APIRouter(prefix="/api-keys", tags=["api-keys"])


@router.post("", response_model=ApiKeyCreated, status_code=201)
async def create_key(gw: GatewayDep, principal: Reader, body: ApiKeyCreate) -> dict[str, Any]:
    """Create a key. Its secret is in this answer only; store it now."""
    return await keys.create_api_key(gw, principal, body.name, body.scope, body.expires_in_days)


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(gw: GatewayDep, principal: Reader) -> list[dict[str, Any]]:
    """Your keys (without secrets)."""
    cursor = gw.read.api_keys.find({"owner": principal.user_id}).sort("created_at", -1)
    return [keys.key_public(d) async for d in cursor]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(gw: GatewayDep, principal: Reader, key_id: str) -> None:
    """Revoke a key; it stops working at once on this replica, within seconds on others."""
    await keys.revoke_api_key(gw, principal, key_id)
