"""The envelope every Kwont event shares (docs/contract.md, "Topics").

- one frozen pydantic model per topic; readers ignore fields they do not know;
- evolve by adding optional fields; bump ``schema_version`` only on a breaking change;
- every model says its Kafka key through ``key()``.
"""

from __future__ import annotations

import time
import uuid
from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field

from kwont_common.events.fields import Account, EpochMs, Symbol


def now_ms() -> int:
    """Current wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class Event(BaseModel):
    """Common envelope: identity, version, times and origin of every message."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="Unique id; the idempotency key."
    )
    schema_version: int = Field(1, ge=1, description="Version of this event's schema.")
    event_time: EpochMs = Field(description="Exchange or event time, epoch ms.")
    produced_at: EpochMs = Field(default_factory=now_ms, description="When produced, epoch ms.")
    source: str = Field(min_length=1, description="Name of the producing service.")

    def key(self) -> str:
        """The Kafka message key that keeps this event's ordering domain on one partition."""
        raise NotImplementedError(f"{type(self).__name__} does not define its key")


class Lineage(TypedDict):
    """The trading fields a child event carries unchanged from its parent (see
    :meth:`AccountEvent.lineage`)."""

    event_time: int
    account: str
    symbol: str
    correlation_id: uuid.UUID


class AccountEvent(Event):
    """Trading-flow events, keyed ``account:SYMBOL`` and tied to the signal that caused them."""

    account: Account
    symbol: Symbol
    correlation_id: uuid.UUID = Field(description="Id of the signal that started this chain.")

    def key(self) -> str:
        """ "account:symbol": one account's events of a symbol stay in order."""
        return f"{self.account}:{self.symbol}"

    def lineage(self) -> Lineage:
        """This event's time, account, symbol and correlation id, for a child event that
        carries them unchanged: ``Order(**signal.lineage(), event_id=..., ...)``. A child
        whose time (or any of these) differs spells its fields out instead."""
        return Lineage(
            event_time=self.event_time,
            account=self.account,
            symbol=self.symbol,
            correlation_id=self.correlation_id,
        )
