"""Run every benchmark module in turn and print its table.

Each module under bench/ exposes ``main() -> None``. Pass module names to run only some:
``python -m bench quant``.
"""

from __future__ import annotations

import importlib
import sys
import time

MODULES = [
    "quant", "quant_plain", "backtests", "mongo", "state", "gateway", "marketdata",
    "partitioning", "pipeline", "rejoin", "fairness", "noisy",
]  # fmt: skip
MODULES += ["idle"]  # last: it starts the whole stack


def run(names: list[str]) -> None:
    """Run bench.<name>.main() for each name in turn, with how long each took."""
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        module.main()
        print(f"(bench.{name} took {time.perf_counter() - started:.1f}s)", flush=True)


if __name__ == "__main__":
    run(sys.argv[1:] or MODULES)
