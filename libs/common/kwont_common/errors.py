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


#: MongoDB error codes of a server that is down, restarting or refusing the app user for
#: now: HostUnreachable, HostNotFound, Unauthorized, AuthenticationFailed, NetworkTimeout,
#: ShutdownInProgress, PrimarySteppedDown, ExceededTimeLimit, SocketException,
#: NotWritablePrimary, InterruptedAtShutdown, InterruptedDueToReplStateChange,
#: NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary. A refused login or a missing grant is
#: an outage of the deployment, not a fault of the message: retried, never dead-lettered.
MONGO_OUTAGE_CODES = frozenset(
    {6, 7, 13, 18, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}
)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says a dependency (broker, database) is unreachable or refusing us:
    a driver's connection error, or a MongoDB error with an outage code or label."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    from aiokafka.errors import KafkaConnectionError
    from pymongo.errors import AutoReconnect, ConnectionFailure, OperationFailure, PyMongoError

    if isinstance(exc, KafkaConnectionError | AutoReconnect | ConnectionFailure):
        return True
    if isinstance(exc, OperationFailure) and exc.code in MONGO_OUTAGE_CODES:
        return True
    return isinstance(exc, PyMongoError) and (
        exc.has_error_label("RetryableWriteError") or exc.has_error_label("ResetPool")
    )


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying: ours, an outage (:func:`is_outage`), or a
    retriable Kafka error."""
    if isinstance(exc, TransientError) or is_outage(exc):
        return True
    from aiokafka.errors import KafkaError

    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))
