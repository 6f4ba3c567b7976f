"""Structured JSON logging: one object per line with the service name and event ids.

Pass context with ``extra``: ``log.info("order placed", extra={"event_id": ..., "topic": ...})``.
Known context keys are copied into the JSON object; anything else is ignored.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

CONTEXT_KEYS = (
    "event_id",
    "correlation_id",
    "topic",
    "partition",
    "offset",
    "key",
    "job_id",
    "account",
    "symbol",
    "client_order_id",
    "error",
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with service name and known context keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line: UTC time, level, service, logger, message, the context keys present
        and any traceback."""
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is not None:
                doc[key] = str(value) if not isinstance(value, int | float | bool) else value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO", json_lines: bool = True) -> None:
    """Route the root logger to stderr, as JSON lines unless ``json_lines`` is false."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
