"""Health check of the Kwont service images: GET 127.0.0.1:<metrics port><path>.

Usage: probe.py [/healthz | /readyz | /metrics] [--print]. Exit 0 on HTTP 200, else 1.
The port is the one the entrypoint wrote to /tmp/kwont/metrics-port (it may have been
picked at start with KWONT_METRICS_PORT=auto), else $KWONT_METRICS_PORT. Standard library
only: it runs with the image's interpreter and nothing else.
"""

import os
import sys
import urllib.error
import urllib.request

PORT_FILE = "/tmp/kwont/metrics-port"


def metrics_port() -> str:
    """The metrics port the entrypoint wrote to PORT_FILE, else $KWONT_METRICS_PORT, else 9100."""
    try:
        with open(PORT_FILE) as handle:
            port = handle.read().strip()
    except OSError:
        port = ""
    return port or os.environ.get("KWONT_METRICS_PORT", "9100")


def main(argv: list[str]) -> int:
    """GET the path in argv (default /healthz); 0 on HTTP 200, else 1; --print writes the body."""
    path = next((a for a in argv if a.startswith("/")), "/healthz")
    url = f"http://127.0.0.1:{metrics_port()}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    if "--print" in argv:
        sys.stdout.write(body.decode(errors="replace"))
    elif status != 200:
        print(f"{url}: HTTP {status} {body[:200]!r}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
