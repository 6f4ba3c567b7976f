"""A user's exchange key pair: what is sent once, and what is ever shown."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class CredentialsCreate(BaseModel):
    """A Binance USD-M futures API key pair (sent once; never answered back)."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr = Field(min_length=8, max_length=256, description="Binance API key.")
    api_secret: SecretStr = Field(min_length=8, max_length=256, description="Binance API secret.")


class CredentialsPublic(BaseModel):
    """What may be shown of an attached pair: never the key or the secret."""

    account: str
    exchange: str = "binance"
    fingerprint: str = Field(description="First 16 hex digits of the key's SHA-256.")
    key_last4: str = Field(description="The key's last four characters.")
    created_at: datetime
    status: str = Field(description="`active`, or `revoked` once Binance refused the pair.")
    reason: str | None = Field(None, description="Why the pair was revoked.")
    revoked_at: datetime | None = None


class Reencrypted(BaseModel):
    """How many stored pairs were re-encrypted under the newest key."""

    reencrypted: int
