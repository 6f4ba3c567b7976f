"""Consumer-group state from the broker (Kafka DescribeGroups v0 over a plain socket).

``up`` waits until every consumer group of a service is ``Stable`` with a member: a
service's /healthz answers as soon as its process runs, but its consumer gets partitions
only after its group join, which tansu (like Kafka's ``group.initial.rebalance.delay.ms``)
holds about 3 s, and which waits for a killed member's session to time out first (about
14 s with ``KWONT_KAFKA_SESSION_TIMEOUT_MS=6000``). A job sent before that waits that long.
"""

from __future__ import annotations

import socket
import struct

from kwont_devstack.tansu import _kafka_string, _recv_exact

_DESCRIBE_GROUPS = 15


class _Reader:
    def __init__(self, payload: bytes) -> None:
        self.payload, self.offset = payload, 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.payload, self.offset)
        self.offset += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        size = self.take(">h")
        value = self.payload[self.offset : self.offset + max(size, 0)]
        self.offset += max(size, 0)
        return value.decode()

    def skip_bytes(self) -> None:
        self.offset += max(self.take(">i"), 0)


def group_state(host: str, port: int, group: str, timeout: float = 2.0) -> tuple[str, int]:
    """``(state, members)`` of consumer group ``group``: e.g. ``("Stable", 1)``, or
    ``("Empty", 0)`` / ``("Dead", 0)`` for a group nobody joined.

    Raises ``OSError`` / ``ConnectionError`` if the broker does not answer, and
    ``ConnectionError`` with the broker's error code if it refuses the request.
    """
    correlation_id = 0x4B58
    body = struct.pack(">hhi", _DESCRIBE_GROUPS, 0, correlation_id)
    body += _kafka_string("kwont-devstack") + struct.pack(">i", 1) + _kafka_string(group)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        reader = _Reader(_recv_exact(sock, size))
    if reader.take(">i") != correlation_id:
        raise ConnectionError("DescribeGroups answer has another correlation id")
    for _ in range(reader.take(">i")):
        error = reader.take(">h")
        name, state = reader.string(), reader.string()
        reader.string(), reader.string()  # protocol type, protocol
        members = reader.take(">i")
        for _ in range(members):
            reader.string(), reader.string(), reader.string()  # member, client id, host
            reader.skip_bytes()  # metadata
            reader.skip_bytes()  # assignment
        if name == group:
            if error not in (0, 16):  # 16: not coordinator (none yet): not joined
                raise ConnectionError(f"DescribeGroups {group}: error code {error}")
            return state, members
    return "Dead", 0


def group_joined(host: str, port: int, group: str) -> bool:
    """True if ``group`` is ``Stable`` with at least one member (its partitions handed out)."""
    try:
        state, members = group_state(host, port, group)
    except (OSError, struct.error):
        return False
    return state == "Stable" and members > 0
