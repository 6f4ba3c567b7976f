"""The error taxonomy shared by every service (after Freqtrade's ``exceptions.py``).

- ``TransientError``: a dependency hiccup; the consumer retries with backoff.
- ``InvalidMessage``: the message can never be handled; it goes to ``<topic>.dlq``.
- ``ConfigurationError``: the service cannot run as configured; it exits non-zero.

User strategy code that fails raises ``kwont_quant.errors.StrategyError`` (the SDK's own).

A risk refusal is not an error: it is a ``RiskRejection`` event.
"""

from __future__ import annotations


class KwontError(Exception):
    """Base of every Kwont error."""


class TransientError(KwontError):
    """A temporary failure (broker, database or network); retry with backoff."""


class InvalidMessage(KwontError):
    """A message that cannot be decoded, validated or handled; dead-letter it."""


class ConfigurationError(KwontError):
    """Settings or environment make it impossible to run; exit non-zero."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying: ours, or a connection-level error of a driver."""
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    from aiokafka.errors import KafkaConnectionError, KafkaError
    from pymongo.errors import AutoReconnect, ConnectionFailure

    if isinstance(exc, KafkaConnectionError | AutoReconnect | ConnectionFailure):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))
