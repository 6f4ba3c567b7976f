"""MongoDB for the gateway, on PyMongo's native asyncio client.

Same roles as ``kwont_common.mongo.Mongo`` (writes on the primary, API reads with
``secondaryPreferred``, market data read-only), but without motor's thread-pool hop per
operation: on the hot read path that hop cost more CPU than the query itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_preferences import SecondaryPreferred

from kwont_common.retry import retry_until
from kwont_common.settings import Settings

Db = AsyncDatabase[dict[str, Any]]


@dataclass
class Stores:
    """The app user's connection and a database handle per role."""

    client: AsyncMongoClient[dict[str, Any]]
    settings: Settings

    @classmethod
    def connect(cls, settings: Settings) -> Stores:
        """Create the client (lazy: no I/O until first use)."""
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongo_uri,
            appname=f"kwont-{settings.service_name}",
            serverSelectionTimeoutMS=5000,
            tz_aware=True,
        )
        return cls(client, settings)

    @property
    def write(self) -> Db:
        """Platform database on the primary."""
        return self.client[self.settings.mongo_database]

    @property
    def read(self) -> Db:
        """Platform database, ``secondaryPreferred`` reads."""
        return self.client.get_database(
            self.settings.mongo_database, read_preference=SecondaryPreferred()
        )

    @property
    def market_read(self) -> Db:
        """Market-data database, ``secondaryPreferred`` reads."""
        return self.client.get_database(
            self.settings.mongo_market_database, read_preference=SecondaryPreferred()
        )

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def wait_ready(self) -> None:
        """Raises TransientError when MongoDB does not answer within startup_timeout_s."""
        await retry_until(self.ping, "mongodb", self.settings.startup_timeout_s)

    async def close(self) -> None:
        await self.client.close()
