"""The idle cost: CPU of the whole stack at rest (the demo paper deployment, one candle a
second), measured on the stack ``make up`` starts.

Starts the embedded stack with ``kwont_devstack.stack.up`` (what ``make up`` calls) in a
run dir of its own, on free ports and its own sandbox network, so it does not meet a
stack already running here. After ``BENCH_IDLE_SETTLE_S`` seconds (default 30: the demo
deployment loads its window, the groups settle) it reads each process's CPU seconds
(utime + stime in ``/proc/<pid>/stat``, the program's child processes included) at the
start and the end of ``BENCH_IDLE_S`` seconds (default 60), ``BENCH_IDLE_RUNS`` times
(default 3) in a row, and prints a table per process and the total in cores. CPU seconds
of the stack's own processes, not the machine's load: other work on the machine does not
count (it only slows the stack down a little). dockerd is the machine's (``make up``
uses one that already answers) and is shown apart, outside the total; so is supervisord,
the process runner, which is part of the stack and counted. Target: under 0.15 of a core.

Before and after: ``BENCH_IDLE_COMPARE="KWONT_SOME_SETTING=value,...;..."`` starts, beside
the stack as it is, one more stack per ``;``-separated variant with those settings in its
services' environment, samples all of them over the same windows (the machine's drift hits
them alike) and prints each one's summary.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from kwont_devstack import supervisord
from kwont_devstack.config import StackConfig
from kwont_devstack.process import free_port
from kwont_devstack.stack import down, up

SETTLE_S = float(os.environ.get("BENCH_IDLE_SETTLE_S", "30"))
WINDOW_S = float(os.environ.get("BENCH_IDLE_S", "60"))
RUNS = int(os.environ.get("BENCH_IDLE_RUNS", "3"))
COMPARE = os.environ.get("BENCH_IDLE_COMPARE", "")
TARGET_CORES = 0.15
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after the command's ")": state is field 3, utime 14, stime 15 (1-based, proc(5))
    return (int(fields[11]) + int(fields[12])) / TICKS


def children() -> dict[int, list[int]]:
    """Every process's children, by parent pid (from ``/proc``)."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(pid: int, tree: dict[int, list[int]]) -> list[int]:
    """``pid`` and every descendant of it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def _pid_of(name: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    return int(entry.name)
            except OSError:
                continue
    return None


def programs(config: StackConfig) -> dict[str, list[int]]:
    """Each supervised program's processes (its process tree), supervisord's own pid, and
    dockerd's (shown apart)."""
    tree = children()
    found: dict[str, list[int]] = {}
    for name, info in sorted(supervisord.process_info(config).items()):
        if info.get("pid"):
            found[name] = process_tree(int(info["pid"]), tree)
    own = supervisord.supervisord_pid(config)
    if own is not None:
        found["supervisord"] = [own]
    dockerd = _pid_of("dockerd")
    if dockerd is not None:
        found["dockerd (apart)"] = process_tree(dockerd, tree)
    return found


def sample(procs: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """CPU seconds each program used over ``seconds`` of wall time."""
    before = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in procs.items()}
    time.sleep(seconds)
    return {
        name: sum(max(0.0, cpu_seconds(pid) - at) for pid, at in before[name].items())
        for name in procs
    }


def table(used: dict[str, float], seconds: float) -> tuple[str, float]:
    """The per-process lines and the stack's total in cores (dockerd left out)."""
    counted = {k: v for k, v in used.items() if "apart" not in k}
    total = sum(counted.values()) / seconds
    lines = [
        f"  {name:<18} {cpu:7.2f} s  {cpu / seconds:6.3f} cores"
        for name, cpu in sorted(used.items(), key=lambda kv: -kv[1])
    ]
    lines.append(f"  {'total (stack)':<18} {sum(counted.values()):7.2f} s  {total:6.3f} cores")
    return "\n".join(lines), total


def bench_config(run_dir: Path) -> StackConfig:
    """The stack's config on free ports, in ``run_dir``, with its own sandbox network."""
    base = StackConfig.from_env({"KWONT_RUN_DIR": str(run_dir)})
    tag = uuid.uuid4().hex[:6]
    services = tuple(
        replace(
            spec,
            metrics_port=free_port(base.host),
            http_port=None if spec.http_port is None else free_port(base.host),
        )
        for spec in base.services
    )
    return replace(
        base,
        kafka_port=free_port(base.host),
        mongo_port=free_port(base.host),
        redis_port=free_port(base.host),
        services=services,
        sandbox_network=f"kwont-idle-{tag}",
        sandbox_bridge=f"kwont-idl{tag}",
        sandbox_relay_port=free_port(base.host),
    )


def _quiet(line: str) -> None:
    del line  # the set-up chatter of `up` (seed, admin, demo) is not the benchmark's


def run(
    configs: dict[str, StackConfig], runs: int = RUNS, seconds: float = WINDOW_S
) -> dict[str, list[float]]:
    """Sample running stacks together ``runs`` times; print each one's table; the totals in
    cores per stack."""
    totals: dict[str, list[float]] = {label: [] for label in configs}
    for i in range(runs):
        procs = {(label, name): pids for label, config in configs.items()
                 for name, pids in programs(config).items()}  # fmt: skip
        flat = sample({f"{label}\0{name}": pids for (label, name), pids in procs.items()}, seconds)
        for label in configs:
            used = {k.split("\0")[1]: v for k, v in flat.items() if k.split("\0")[0] == label}
            text, total = table(used, seconds)
            print(f"run {i + 1}/{runs} ({label}): CPU over {seconds:.0f} s at rest\n{text}",
                  flush=True)  # fmt: skip
            totals[label].append(total)
    return totals


def summary(totals: Iterable[float]) -> str:
    """The line the bench prints: each run's cores at rest, their median and the target."""
    values = list(totals)
    return (
        f"stack at rest: {' '.join(f'{t:.3f}' for t in values)} cores "
        f"(median {statistics.median(values):.3f}; target under {TARGET_CORES})"
    )


def _overrides(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    return {k.strip(): v.strip() for k, v in pairs}


def main() -> None:
    """Start the stack (two with ``BENCH_IDLE_COMPARE``), let it settle, sample its CPU at
    rest and print the summary."""
    variants = {"as is": {}} | {v: _overrides(v) for v in COMPARE.split(";") if v.strip()}
    run_dirs = {label: Path(tempfile.mkdtemp(prefix="kwont-bench-idle-")) for label in variants}
    configs = {label: bench_config(run_dirs[label]) for label in variants}
    keep, saved = False, dict(os.environ)
    try:
        for label, env in variants.items():
            started = time.perf_counter()
            os.environ.update(env)  # supervisord, and so its services, inherit it
            try:
                up(configs[label], say=_quiet)
            finally:
                os.environ.clear()
                os.environ.update(saved)
            print(f"stack {label!r} up in {time.perf_counter() - started:.0f} s "
                  f"(run dir {run_dirs[label]})", flush=True)  # fmt: skip
        print(f"settling {SETTLE_S:.0f} s", flush=True)
        time.sleep(SETTLE_S)
        for label, totals in run(configs).items():
            print(f"{label}: {summary(totals)}")
    except BaseException:
        keep = True
        print("bench.idle failed; the logs are in", [c.logs_dir for c in configs.values()])
        raise
    finally:
        for config in configs.values():
            down(config, say=_quiet)
        if not keep:
            for run_dir in run_dirs.values():
                shutil.rmtree(run_dir, ignore_errors=True)
