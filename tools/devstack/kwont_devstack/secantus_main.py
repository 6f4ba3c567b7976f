"""Entry point that runs SecantusDB's own CLI with one fix: a stop signal is never lost.

``secantus.cli.main`` parks the main thread in ``Event.wait()`` with no timeout. CPython
runs signal handlers only in the main thread, and a SIGTERM that the kernel hands to one
of the server's other threads does not interrupt that wait, so the server ignores it
(measured: about 1 stop in 25 hung until SIGKILL, which risks the WiredTiger files).
Waiting in short slices lets the main thread notice the pending signal within 0.25 s.
Usage is exactly ``python -m secantus``'s: ``python -m kwont_devstack.secantus_main ARGS``.
"""

from __future__ import annotations

import threading

from secantus import cli
from secantus.server import SecantusDBServer


class _SignalFriendlyServer(SecantusDBServer):  # type: ignore[misc]
    def wait(self) -> None:
        stop_event = getattr(self, "_stop_event", None)
        if not isinstance(stop_event, threading.Event):
            super().wait()  # a future SecantusDB without the flag: keep its own behaviour
            return
        while not stop_event.wait(0.25):
            pass


def main() -> int:
    """Run the SecantusDB daemon with the signal-friendly wait; returns its exit code."""
    cli.SecantusDBServer = _SignalFriendlyServer
    return int(cli.main())


if __name__ == "__main__":
    raise SystemExit(main())
