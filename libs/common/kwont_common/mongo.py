"""MongoDB connections (motor) for the three roles of DESIGN.md.

- ``write``: the app user, writes on the primary;
- ``read``: the app user, reads with ``secondaryPreferred`` (API reads; falls back to the
  primary on a single node);
- ``readonly``: the sandbox user, ``read`` on the market-data database only.

The admin user is used by provisioning only (tools/devstack, the deploy init job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo.read_preferences import SecondaryPreferred

from kwont_common.retry import retry_until
from kwont_common.settings import Settings

Database = AsyncIOMotorDatabase[dict[str, Any]]


def client(uri: str, app_name: str) -> AsyncIOMotorClient[dict[str, Any]]:
    """A motor client with short server-selection timeouts so failures surface quickly."""
    return AsyncIOMotorClient(uri, appname=app_name, serverSelectionTimeoutMS=5000, tz_aware=True)


@dataclass
class Mongo:
    """The app connection, with one database handle per role and store."""

    app: AsyncIOMotorClient[dict[str, Any]]
    settings: Settings

    @classmethod
    def connect(cls, settings: Settings) -> Mongo:
        """Create the client (lazy: no I/O until first use or ``wait_ready``)."""
        return cls(client(settings.mongo_uri, f"kwont-{settings.service_name}"), settings)

    @property
    def write(self) -> Database:
        """Platform database on the primary."""
        return self.app[self.settings.mongo_database]

    @property
    def read(self) -> Database:
        """Platform database, ``secondaryPreferred`` reads."""
        return self.app.get_database(
            self.settings.mongo_database, read_preference=SecondaryPreferred()
        )

    @property
    def market_write(self) -> Database:
        """Market-data database on the primary."""
        return self.app[self.settings.mongo_market_database]

    @property
    def market_read(self) -> Database:
        """Market-data database, ``secondaryPreferred`` reads."""
        return self.app.get_database(
            self.settings.mongo_market_database, read_preference=SecondaryPreferred()
        )

    async def wait_ready(self) -> None:
        """Ping until the server answers or ``startup_timeout_s`` passes.

        Raises:
            TransientError: MongoDB did not answer in time.
        """
        await retry_until(
            lambda: self.app.admin.command("ping"), "mongodb", self.settings.startup_timeout_s
        )

    def close(self) -> None:
        self.app.close()


def readonly_market(settings: Settings) -> Database:
    """The market-data database through the read-only sandbox user."""
    ro = client(settings.mongo_readonly_uri, f"kwont-{settings.service_name}-readonly")
    return ro.get_database(settings.mongo_market_database, read_preference=SecondaryPreferred())
