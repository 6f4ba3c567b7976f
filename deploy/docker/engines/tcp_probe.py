"""Health check for the tansu image: exit 0 if HOST PORT accepts a TCP connection."""

import socket
import sys

try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
