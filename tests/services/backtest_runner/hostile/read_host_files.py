"""Looks for secrets and host paths; reports what it could read by raising."""

import json
import os

from kwont_quant import Signals, Strategy

PATHS = [
    "/etc/shadow",
    "/root",
    "/work/main",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/lib/docker",
    "/proc/1/root/etc/shadow",
    "/sys/fs/cgroup/../../../etc/shadow",
]


class Snoop(Strategy):
    def generate(self, candles) -> Signals:
        seen = {}
        for path in PATHS:
            try:
                if os.path.isdir(path):
                    seen[path] = f"dir: {os.listdir(path)[:5]}"
                else:
                    with open(path, "rb") as fh:
                        seen[path] = f"read {len(fh.read(64))} bytes"
            except OSError as exc:
                seen[path] = f"{type(exc).__name__}: {exc.strerror}"
        try:
            with open("/opt/venv/evil", "w") as fh:
                fh.write("x")
            seen["write_root_fs"] = "written"
        except OSError as exc:
            seen["write_root_fs"] = f"{type(exc).__name__}: {exc.strerror}"
        seen["uid"] = str(os.getuid())
        raise RuntimeError("FILES " + json.dumps(seen))
