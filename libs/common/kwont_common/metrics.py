"""Prometheus metrics shared by every service, and the small HTTP server that exposes them with
the health endpoints: ``GET /metrics``, ``GET /healthz`` (alive) and ``GET /readyz`` (every
readiness check passes)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

MESSAGES_CONSUMED = Counter(
    "kwont_messages_consumed_total", "Messages handled successfully.", ["service", "topic"]
)
MESSAGES_PRODUCED = Counter(
    "kwont_messages_produced_total", "Messages published.", ["service", "topic"]
)
MESSAGES_FAILED = Counter(
    "kwont_messages_failed_total",
    "Messages that failed: decode/validation/handler (dead-lettered) or retry (attempt failed).",
    ["service", "topic", "reason"],
)
HANDLER_SECONDS = Histogram(
    "kwont_handler_seconds",
    "Time spent in a handler, including publishing its outputs.",
    ["service", "topic"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG = Gauge(
    "kwont_consumer_lag",
    "High watermark minus position, per partition (against tansu this reads high when "
    "producers batch several records; see docs/contract.md, embedded engines).",
    ["service", "topic", "partition"],
)

ReadinessCheck = Callable[[], bool]


class HealthServer:
    """Serves /metrics, /healthz and /readyz on one port with asyncio only."""

    def __init__(self, service: str, host: str, port: int) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.checks: dict[str, ReadinessCheck] = {}
        self._server: asyncio.Server | None = None

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        """Register a readiness check (e.g. consumer running, Mongo reachable)."""
        self.checks[name] = check

    async def start(self) -> None:
        """Bind and serve. Raises OSError when the port is taken."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sockets = self._server.sockets or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("metrics and health on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Close the listening socket and wait until it is closed; a no-op when not started."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _status(self) -> tuple[int, dict[str, object]]:
        results = {}
        for name, check in self.checks.items():
            try:
                results[name] = bool(check())
            except Exception:  # a broken check reports not ready rather than crashing
                results[name] = False
        ready = all(results.values())
        return (200 if ready else 503), {"service": self.service, "ready": ready, **results}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            path = request.split(b" ", 2)[1].decode("latin-1") if b" " in request else "/"
            path = path.split("?", 1)[0]
            if path == "/metrics":
                status, ctype, body = 200, CONTENT_TYPE_LATEST, generate_latest()
            elif path == "/healthz":
                status, ctype = 200, "application/json"
                body = json.dumps({"service": self.service, "status": "ok"}).encode()
            elif path == "/readyz":
                status, doc = self._status()
                ctype, body = "application/json", json.dumps(doc).encode()
            else:
                status, ctype, body = 404, "text/plain", b"not found\n"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
