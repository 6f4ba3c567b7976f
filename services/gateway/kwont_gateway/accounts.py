"""Which trading accounts belong to whom: an account is a user's when one of their
deployments or their portfolio names it."""

from __future__ import annotations

from kwont_gateway.errors import not_found
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway


async def owned_accounts(gw: Gateway, principal: Principal) -> list[str]:
    """The caller's accounts: every account one of their deployments or portfolios names, sorted."""
    owner = {"owner": principal.user_id}
    found = set(await gw.read.deployments.distinct("account", owner))
    found |= set(await gw.read.portfolios.distinct("account", owner))
    return sorted(a for a in found if a)


async def require_account(gw: Gateway, principal: Principal, account: str) -> None:
    """Raises ApiError 404 unless ``account`` is the caller's."""
    q = {"owner": principal.user_id, "account": account}
    if await gw.read.portfolios.find_one(q, {"_id": 1}) is None and (
        await gw.read.deployments.find_one(q, {"_id": 1}) is None
    ):
        raise not_found("account", account)
