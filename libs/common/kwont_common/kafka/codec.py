"""Bytes <-> events. A message is one UTF-8 JSON object of its topic's model."""

from __future__ import annotations

from pydantic import ValidationError

from kwont_common.errors import InvalidMessage
from kwont_common.events import Event
from kwont_common.topics import Topic


def encode(event: Event) -> tuple[bytes, bytes]:
    """``(key, value)`` of an event as sent to Kafka."""
    return event.key().encode(), event.model_dump_json().encode()


def decode(topic: Topic, value: bytes | None) -> Event:
    """The event in ``value``.

    Raises:
        InvalidMessage: with ``kind`` ``decode`` (not JSON) or ``validation`` (wrong fields).
    """
    if value is None:
        raise DecodeError("empty message (tombstone)")
    try:
        return topic.model.model_validate_json(value)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise DecodeError(f"not a JSON object: {exc.errors()[0]['msg']}") from exc
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '$'}: {e['msg']}" for e in exc.errors()
        )
        raise SchemaError(f"invalid {topic.model.__name__}: {details}") from exc


class DecodeError(InvalidMessage):
    """The bytes are not a JSON object."""

    kind = "decode"


class SchemaError(InvalidMessage):
    """A JSON object that does not validate against the topic's model."""

    kind = "validation"
