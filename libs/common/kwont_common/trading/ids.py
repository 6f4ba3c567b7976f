"""Deterministic ids of the trading flow: replaying the same candle can only ever produce
the same signal, the same orders and the same paper trades, so every consumer dedupes by id.
"""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f1d3c2a-8b1e-4f5a-9c47-2b7e0d9a4c11")

Leg = str
"""``e`` entry, ``x`` exit (closing leg), ``sl`` stop-loss, ``tp`` take-profit."""
LEGS = ("e", "x", "sl", "tp")


def signal_id(deployment_id: str, symbol: str, interval: str, candle_open_time: int) -> uuid.UUID:
    """The id of a deployment's signal on one candle (at most one per candle)."""
    return uuid.uuid5(NAMESPACE, f"signal:{deployment_id}:{symbol}:{interval}:{candle_open_time}")


def client_order_id(signal: uuid.UUID, leg: Leg) -> str:
    """Client order id of one leg caused by ``signal``: ``k<leg>-<signal hex>`` (at most 36
    characters, Binance's ``newClientOrderId`` alphabet).

    Raises:
        ValueError: unknown leg.
    """
    if leg not in LEGS:
        raise ValueError(f"unknown order leg {leg!r}; one of {', '.join(LEGS)}")
    return f"k{leg}-{signal.hex}"


def parse_client_order_id(coid: str) -> tuple[str, uuid.UUID] | None:
    """``(leg, signal id)`` of one of our client order ids, or None for a foreign id."""
    head, _, tail = coid.partition("-")
    if not head.startswith("k") or head[1:] not in LEGS or len(tail) != 32:
        return None
    try:
        return head[1:], uuid.UUID(hex=tail)
    except ValueError:
        return None


def event_id(*parts: object) -> uuid.UUID:
    """A deterministic event id for an event derived from ``parts`` (e.g. a fill's trade id),
    so a re-published event keeps its id and consumers drop the copy."""
    return uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts))
