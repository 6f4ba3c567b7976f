"""A user's own exchange API key pair for one account, encrypted at rest.

Stored in ``exchange_credentials`` (``_id`` = account id) of the platform database, which
the sandbox's read-only MongoDB user cannot read (it reads the market-data database only).
The key and secret are Fernet tokens (AES-128-CBC with HMAC-SHA256, from ``cryptography``)
under a :class:`Keyring`: several keys, the first encrypts, any decrypts, so a new key is
put first and :func:`reencrypt` then moves every stored pair onto it before the old key is
dropped. What may be shown is :func:`public`: a fingerprint, the key's last four
characters, times and status; never the key or the secret.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kwont_common.errors import ConfigurationError

COLLECTION = "exchange_credentials"
#: Binance codes that say the key pair itself is refused (revoked, wrong secret, no rights).
KEY_REFUSED_CODES = (-2015, -2014, -2008, -1022)


class Keyring:
    """The encryption keys of stored credentials, newest first."""

    def __init__(self, keys: list[str]) -> None:
        """Raises:
        ConfigurationError: no key, or one that is not a urlsafe-base64 32-byte Fernet key.
        """
        if not keys:
            raise ConfigurationError("no credentials encryption key configured")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "a credentials encryption key is not a Fernet key (32 url-safe base64 bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc

    @classmethod
    def of(cls, keys: str | None, keys_file: Path | None) -> Keyring | None:
        """From ``KWONT_CREDENTIALS_KEYS`` (comma-separated) and/or a mounted file (one key
        a line, ``#`` comments); the setting's keys come first. None when neither is set.

        Raises:
            ConfigurationError: the file is missing or a key is malformed.
        """
        found = [k.strip() for k in (keys or "").split(",") if k.strip()]
        if keys_file is not None:
            try:
                lines = keys_file.read_text().splitlines()
            except OSError as exc:
                raise ConfigurationError(f"credentials key file {keys_file}: {exc}") from exc
            found += [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
        return cls(found) if found else None

    def encrypt(self, clear: str) -> str:
        """``clear`` as a Fernet token under the newest key."""
        return self._fernet.encrypt(clear.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Raises:
        ConfigurationError: no key of the ring opens it (its key was dropped) or it was
            tampered with.
        """
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "stored credentials do not decrypt with any configured key"
            ) from exc

    def rotate(self, token: str) -> str:
        """The same secret under the newest key."""
        return self._fernet.rotate(token.encode()).decode()


def fingerprint(api_key: str) -> str:
    """A short stable name of an API key (not reversible)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def sealed(keyring: Keyring, account: str, owner: str, exchange: str, api_key: str,
           api_secret: str) -> dict[str, Any]:  # fmt: skip
    """The document stored for a key pair (encrypted fields and what may be shown)."""
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what MongoDB keeps
    return {
        "_id": account, "owner": owner, "exchange": exchange,
        "api_key_enc": keyring.encrypt(api_key), "api_secret_enc": keyring.encrypt(api_secret),
        "fingerprint": fingerprint(api_key), "key_last4": api_key[-4:],
        "created_at": now, "status": "active", "reason": None,
    }  # fmt: skip


def opened(keyring: Keyring, doc: dict[str, Any]) -> tuple[str, str]:
    """(api key, api secret) of a stored document.

    Raises:
        ConfigurationError: no configured key decrypts it.
    """
    return keyring.decrypt(doc["api_key_enc"]), keyring.decrypt(doc["api_secret_enc"])


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """What an API may answer about stored credentials."""
    return {
        "account": doc["_id"], "exchange": doc.get("exchange", "binance"),
        "fingerprint": doc["fingerprint"], "key_last4": doc["key_last4"],
        "created_at": doc["created_at"], "status": doc.get("status", "active"),
        "reason": doc.get("reason"), "revoked_at": doc.get("revoked_at"),
    }  # fmt: skip


async def find(db: Any, account: str) -> dict[str, Any] | None:
    """The stored pair of ``account`` (encrypted), or None."""
    found: dict[str, Any] | None = await db[COLLECTION].find_one({"_id": account})
    return found


async def mark_refused(db: Any, account: str, fingerprint_: str, reason: str) -> None:
    """Stop an account's key pair (the exchange refused it); a new attach replaces it."""
    await db[COLLECTION].update_one(
        {"_id": account, "fingerprint": fingerprint_},
        {"$set": {"status": "revoked", "reason": reason, "revoked_at": datetime.now(UTC)}},
    )


async def reencrypt(db: Any, keyring: Keyring) -> int:
    """Re-encrypt every stored pair under the keyring's newest key; the number rewritten.

    Raises:
        ConfigurationError: a stored pair decrypts with none of the keys.
    """
    count = 0
    async for doc in db[COLLECTION].find({}, {"api_key_enc": 1, "api_secret_enc": 1}):
        await db[COLLECTION].update_one({"_id": doc["_id"]}, {"$set": {
            "api_key_enc": keyring.rotate(doc["api_key_enc"]),
            "api_secret_enc": keyring.rotate(doc["api_secret_enc"]),
        }})  # fmt: skip
        count += 1
    return count
