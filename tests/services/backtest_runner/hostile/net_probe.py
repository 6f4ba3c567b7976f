"""Tries to open TCP connections; reports what answered by raising (the test reads it).

TARGETS is filled in by the test: only addresses of this machine and its Docker bridge.
OUTSIDE (a documentation address, RFC 5737) is tried only when TRY_OUTSIDE is set, which
the test does only after checking that the host rejects everything forwarded from the
sandbox bridge, so the attempt cannot leave this machine. Connection attempts only: no
payload is ever sent.
"""

import json
import socket

from kwont_quant import Signals, Strategy

TARGETS: list[tuple[str, int]] = []
OUTSIDE = ("198.51.100.7", 443)
TRY_OUTSIDE = False


class Probe(Strategy):
    def generate(self, candles) -> Signals:
        seen = {}
        for host, port in TARGETS:
            try:
                with socket.create_connection((host, port), timeout=3):
                    seen[f"{host}:{port}"] = "open"
            except OSError as exc:
                seen[f"{host}:{port}"] = f"{type(exc).__name__}: {exc}"
        if not TRY_OUTSIDE:
            seen["outside"] = "not tried"
        else:
            try:
                with socket.create_connection(OUTSIDE, timeout=3):
                    seen["outside"] = "open"
            except OSError as exc:
                seen["outside"] = f"{type(exc).__name__}: {exc}"
        raise RuntimeError("PROBE " + json.dumps(seen))
