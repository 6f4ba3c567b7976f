"""Which subscriptions an event goes to (collection ``notification_subscriptions``, written
by the gateway): enabled ones of the account's (or job's) owner that list one of its kinds,
scoped to its account, to a deployment on it, or to all of the owner's accounts."""

from __future__ import annotations

import time
from typing import Any

from kwont_common.mongo import Database
from kwont_notifier.deliveries import SUBSCRIPTIONS
from kwont_notifier.kinds import Notice

OWNER_CACHE_S = 30.0


class Subscriptions:
    """Reads subscriptions and the owners of accounts they filter on."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._owners: dict[str, tuple[float, str | None]] = {}

    async def get(self, sub_id: str) -> dict[str, Any] | None:
        """One subscription by id, or None."""
        return await self.db[SUBSCRIPTIONS].find_one({"_id": sub_id})

    async def owner_of_account(self, account: str) -> str | None:
        """The user an account belongs to (its deployments, else its portfolio); cached."""
        hit = self._owners.get(account)
        if hit is not None and time.monotonic() - hit[0] < OWNER_CACHE_S:
            return hit[1]
        doc = await self.db.deployments.find_one({"account": account}, {"owner": 1})
        if doc is None:
            doc = await self.db.portfolios.find_one({"_id": account}, {"owner": 1})
        owner = (doc or {}).get("owner")
        self._owners[account] = (time.monotonic(), owner)
        return owner

    async def owner_of_job(self, job_id: str) -> str | None:
        """The user who submitted a backtest or an optimisation."""
        for collection in ("backtests", "optimizations"):
            doc = await self.db[collection].find_one({"_id": job_id}, {"owner": 1})
            if doc is not None:
                return doc.get("owner")
        return None

    async def matching(self, notice: Notice) -> list[dict[str, Any]]:
        """The enabled subscriptions ``notice`` goes to."""
        query: dict[str, Any] = {"enabled": True, "kinds": {"$in": list(notice.kinds)}}
        if notice.account is not None:
            owner = await self.owner_of_account(notice.account)
            if owner is None:
                return []
            query.update(owner=owner, **{"$or": [{"account": notice.account}, {"account": None}]})
        elif notice.job_id is not None:
            owner = await self.owner_of_job(notice.job_id)
            if owner is None:
                return []
            query["owner"] = owner
        else:
            return []
        found = [s async for s in self.db[SUBSCRIPTIONS].find(query)]
        if notice.deployment_id is None:
            return found
        # a deployment-scoped subscription hears its account's events and its own errors
        return [s for s in found if s.get("deployment_id") in (None, notice.deployment_id)]
