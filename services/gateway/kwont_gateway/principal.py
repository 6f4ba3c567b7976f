"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "trader", "viewer"]
Scope = Literal["read", "trade"]
ROLES: tuple[Role, ...] = ("admin", "trader", "viewer")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user through an access token, or a bot through an API key.

    ``scope`` is ``trade`` for access tokens and the key's scope for API keys; what a key may
    do never exceeds what its owner's role allows.
    """

    user_id: str
    username: str
    role: Role
    via: Literal["token", "api_key"]
    scope: Scope = "trade"
    version: int = 0
    """The user's token version these credentials were valid for (see ``sessions``)."""

    @property
    def can_trade(self) -> bool:
        """Create and change things (strategies, backtests, deployments)."""
        return self.role in ("admin", "trader") and self.scope == "trade"

    @property
    def is_admin(self) -> bool:
        """True for an admin signed in with a trade-scoped credential (a read-only key is not
        enough)."""
        return self.role == "admin" and self.scope == "trade"
