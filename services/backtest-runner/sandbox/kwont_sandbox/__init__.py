"""kwont_sandbox: what runs inside the backtest sandbox container.

One JSON job arrives on stdin; JSON lines leave on stdout: ``progress`` lines, then exactly
one ``result`` or ``error`` line (see :mod:`kwont_sandbox.protocol`). Candles are read from
MongoDB with the read-only user's credentials given in the job. Nothing here trusts the
strategy code it runs: the container around it is the security boundary.
"""

from __future__ import annotations

__version__ = "0.1.0"
#: Version of the stdin/stdout protocol; the runner refuses lines of another version.
PROTOCOL_VERSION = 1
