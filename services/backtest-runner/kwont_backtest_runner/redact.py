"""Removing the credentials the runner hands the sandbox from text it stores or publishes.

Strategy code can read the sandbox's read-only MongoDB URI in its own process and raise it
into its error, print it to stderr (kept as the traceback) or write it into a forged
result. Every such string passes a :class:`Redactor` before it is stored, logged or
published.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"


class Redactor:
    """Replaces each secret (and its URL-encoded forms) with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.update({secret, unquote(secret), quote(secret, safe=""), quote_plus(secret)})
        # longest first: a URI is masked whole before its password alone
        self._secrets = sorted((f for f in forms if f), key=len, reverse=True)

    @classmethod
    def of_uris(cls, *uris: str) -> Redactor:
        """The secrets of MongoDB URIs: each whole URI, its user:password and password."""
        secrets: list[str] = []
        for uri in uris:
            userinfo = urlsplit(uri).netloc.rpartition("@")[0]
            if userinfo:
                secrets += [uri, userinfo, userinfo.partition(":")[2]]
        return cls(secrets)

    def __call__(self, text: str) -> str:
        """``text`` with every secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def may_occur_in(self, raw: bytes) -> bool:
        """False when no secret can be in any string JSON-decoded from ``raw``: none occurs
        in it literally and it has no escape (``\\``) that could spell one another way."""
        return b"\\" in raw or any(s.encode() in raw for s in self._secrets)

    def tree(self, value: Any) -> Any:
        """A JSON-like value with every string (keys too) masked."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.tree(k): self.tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        return value


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's formatter and masks secrets in each finished line (message,
    exception text and extra fields alike)."""

    def __init__(self, inner: logging.Formatter | None, redactor: Redactor) -> None:
        super().__init__()
        self.inner, self.redactor = inner or logging.Formatter(), redactor

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's text with the redactor applied."""
        return self.redactor(self.inner.format(record))


def install(redactor: Redactor) -> None:
    """Wrap the formatter of every handler of the root logger in a :class:`RedactingFormatter`."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter, redactor))
