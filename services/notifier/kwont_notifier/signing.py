"""The webhook signature: ``X-Kwont-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>``
is HMAC-SHA256 with the subscription's secret over ``"<t>.<raw body>"`` (the timestamp is
signed so a captured delivery cannot be replayed later: receivers reject an old ``t``)."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Kwont-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: the signature matches and ``t`` is within ``tolerance_s``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
