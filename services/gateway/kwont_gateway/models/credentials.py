"""A user's exchange key pair: what is sent once, and what is ever shown."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_PRINTABLE = re.compile(r"[\x21-\x7e]+")


class CredentialsCreate(BaseModel):
    """A Binance USD-M futures API key pair (sent once; never answered back)."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr = Field(min_length=8, max_length=256, description="Binance API key.")
    api_secret: SecretStr = Field(min_length=8, max_length=256, description="Binance API secret.")

    @field_validator("api_key", "api_secret")
    @classmethod
    def _printable(cls, value: SecretStr) -> SecretStr:
        # an HTTP header and an HMAC key: printable ASCII without spaces (the value is not
        # quoted in the error)
        if not _PRINTABLE.fullmatch(value.get_secret_value()):
            raise ValueError("must be printable ASCII without spaces, as Binance issues them")
        return value


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
