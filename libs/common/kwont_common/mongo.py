"""MongoDB connections on PyMongo's native asyncio client, one per role.

- ``write``: the app user, writes on the primary;
- ``read``: the app user, reads with ``secondaryPreferred`` (API reads; falls back to the
  primary on a single node);
- ``readonly``: the sandbox user, ``read`` on the market-data database only.

The admin user is used by provisioning only (tools/devstack, the deploy init job).

PyMongo's ``AsyncMongoClient`` runs on the event loop itself (Motor, its predecessor, sent
every operation through a thread pool). Two calls differ from Motor's: ``aggregate`` and
``watch`` are coroutines that return the cursor (``async for d in await c.aggregate(p)``),
and ``close`` is awaited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_preferences import SecondaryPreferred

from kwont_common.retry import retry_until
from kwont_common.settings import Settings

Database = AsyncDatabase[dict[str, Any]]
Client = AsyncMongoClient[dict[str, Any]]


def client(uri: str, app_name: str) -> Client:
    """A client with short server-selection timeouts so failures surface quickly (lazy)."""
    return AsyncMongoClient(uri, appname=app_name, serverSelectionTimeoutMS=5000, tz_aware=True)


@dataclass
class Mongo:
    """The app connection, with one database handle per role and store."""

    client: Client
    settings: Settings

    @classmethod
    def connect(cls, settings: Settings) -> Mongo:
        """Create the client (lazy: no I/O until first use or ``wait_ready``)."""
        return cls(client(settings.mongo_uri, f"kwont-{settings.service_name}"), settings)

    @property
    def write(self) -> Database:
        """Platform database on the primary."""
        return self.client[self.settings.mongo_database]

    @property
    def read(self) -> Database:
        """Platform database, ``secondaryPreferred`` reads."""
        return self.client.get_database(
            self.settings.mongo_database, read_preference=SecondaryPreferred()
        )

    @property
    def market_write(self) -> Database:
        """Market-data database on the primary."""
        return self.client[self.settings.mongo_market_database]

    @property
    def market_read(self) -> Database:
        """Market-data database, ``secondaryPreferred`` reads."""
        return self.client.get_database(
            self.settings.mongo_market_database, read_preference=SecondaryPreferred()
        )

    async def ping(self) -> None:
        """One round trip to the server (raises when it does not answer)."""
        await self.client.admin.command("ping")

    async def wait_ready(self) -> None:
        """Ping until the server answers or ``startup_timeout_s`` passes.

        Raises:
            TransientError: MongoDB did not answer in time.
        """
        await retry_until(self.ping, "mongodb", self.settings.startup_timeout_s)

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()


def readonly_market(settings: Settings) -> Database:
    """The market-data database through the read-only sandbox user."""
    ro = client(settings.mongo_readonly_uri, f"kwont-{settings.service_name}-readonly")
    return ro.get_database(settings.mongo_market_database, read_preference=SecondaryPreferred())
