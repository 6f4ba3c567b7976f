"""Reading a sandbox container's attach stream: Docker frames, JSON lines, packed series."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

SERIES_ENCODING = "f64le+zlib+base64"
PROTOCOL_VERSION = 1
_STDOUT, _STDERR = 1, 2
_STDERR_TAIL = 16 * 1024


class ProtocolError(ValueError):
    """A stdout line that is not a protocol line (not JSON, unknown type or version)."""


def unpack_series(packed: str, dtype: type[np.generic] = np.float64) -> np.ndarray[Any, Any]:
    """Inverse of the sandbox's ``pack_series``. Raises ``ValueError`` on corrupt data."""
    try:
        raw = zlib.decompress(base64.b64decode(packed, validate=True))
    except (zlib.error, ValueError) as exc:
        raise ValueError(f"corrupt packed series: {exc}") from exc
    return np.frombuffer(raw, dtype="<f8").astype(dtype)


def decode_curves(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with every packed equity curve turned into numpy arrays
    (``open_time_ms`` int64, ``equity`` float64).

    Raises:
        ValueError: a curve does not decode.
    """

    def decode(curve: Any) -> Any:
        if not isinstance(curve, dict) or curve.get("encoding") != SERIES_ENCODING:
            return curve
        return {
            "open_time_ms": unpack_series(curve["open_time_ms"], np.int64),
            "equity": unpack_series(curve["equity"]),
        }

    out = dict(result)
    if "equity_curve" in out:
        out["equity_curve"] = decode(out["equity_curve"])
    symbols = out.get("symbols")
    if isinstance(symbols, dict):
        out["symbols"] = {
            s: {**v, "equity_curve": decode(v["equity_curve"])} if "equity_curve" in v else v
            for s, v in symbols.items()
        }
    return out


class StreamReader:
    """Feeds raw bytes of a non-TTY attach stream; dispatches stdout JSON lines.

    ``on_line`` gets each decoded stdout line; stderr keeps only its tail. ``total`` counts
    every payload byte of both streams (what the output limit applies to).
    """

    def __init__(self, on_line: Callable[[dict[str, Any]], None]) -> None:
        self._on_line = on_line
        self._buf = bytearray()
        self._line = bytearray()
        self.stderr_tail = bytearray()
        self.total = 0
        self.last_line = b""
        """The raw text of the latest stdout line (the result line, once it came)."""

    def feed(self, data: bytes) -> None:
        """Consume ``data``.

        Raises:
            ProtocolError: a complete stdout line is not a valid protocol line.
        """
        self._buf += data
        while len(self._buf) >= 8:
            size = int.from_bytes(self._buf[4:8], "big")
            if len(self._buf) < 8 + size:
                return
            kind, payload = self._buf[0], bytes(self._buf[8 : 8 + size])
            del self._buf[: 8 + size]
            self.total += size
            if kind == _STDOUT:
                self._stdout(payload)
            elif kind == _STDERR:
                self.stderr_tail += payload
                del self.stderr_tail[:-_STDERR_TAIL]

    def _stdout(self, payload: bytes) -> None:
        self._line += payload
        while (cut := self._line.find(b"\n")) >= 0:
            text = bytes(self._line[:cut])
            del self._line[: cut + 1]
            if text.strip():
                self.last_line = text
                self._on_line(parse_line(text))

    def stderr_text(self) -> str:
        """The kept tail of the sandbox's stderr, decoded (invalid bytes replaced)."""
        return self.stderr_tail.decode("utf-8", "replace")


def parse_line(text: bytes) -> dict[str, Any]:
    """One protocol line. Raises :class:`ProtocolError`."""
    try:
        line = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {text[:200]!r}") from exc
    if not isinstance(line, dict) or line.get("type") not in (
        "progress",
        "timing",
        "result",
        "error",
    ):
        raise ProtocolError(f"not a protocol line: {text[:200]!r}")
    if line.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {line.get('v')!r}, expected {PROTOCOL_VERSION}")
    return line
