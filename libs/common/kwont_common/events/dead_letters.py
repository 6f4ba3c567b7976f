"""Topics ``<topic>.dlq``: messages a consumer could not decode, validate or handle."""

from __future__ import annotations

from pydantic import Field

from kwont_common.events.envelope import Event


class DeadLetter(Event):
    """The original bytes (base64) and what was wrong with them. Keyed like the original."""

    original_topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    original_key: str | None = None
    payload_b64: str = Field(description="The original value, base64-encoded.")
    error_type: str = Field(description="`decode`, `validation` or `handler`.")
    error: str = Field(description="What was wrong, readable.")
    consumer_group: str

    def key(self) -> str:
        """The original message's key, else "topic:partition:offset"."""
        return self.original_key or f"{self.original_topic}:{self.partition}:{self.offset}"
