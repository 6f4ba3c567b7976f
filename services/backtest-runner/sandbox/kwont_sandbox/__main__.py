"""``python -m kwont_sandbox``: read one job on stdin, answer with JSON lines on stdout.

Exit status 0 whenever a ``result`` or ``error`` line was written (the line says which); a
non-zero status means the process was killed or the protocol itself failed.
"""

from __future__ import annotations

import os
import time


def _since_exec() -> float:
    """Seconds since this process was exec'd (its start time in /proc, clock ticks)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(time.clock_gettime(time.CLOCK_BOOTTIME) - started, 0.0)
    except (OSError, ValueError, IndexError):
        return 0.0


_BOOT_S = _since_exec()  # the interpreter's own start, before any import of ours
_T0 = time.perf_counter()

import errno  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

from kwont_sandbox import protocol  # noqa: E402

MAX_JOB_BYTES = 16 * 1024 * 1024
# Compiled numba code shipped in the image; numba needs a writable cache dir, so it is
# copied to the tmpfs before kwont_quant (and numba) are imported.
SHIPPED_NUMBA_CACHE = "/opt/kwont/numba-cache"
STRATEGY_DIR, STRATEGY_PATH = "/tmp/strategy", "/strategy/strategy.py"


def _prepare_numba_cache() -> None:
    target = os.environ.get("NUMBA_CACHE_DIR", "")
    if not target or os.path.exists(target) or not os.path.isdir(SHIPPED_NUMBA_CACHE):
        return
    try:
        shutil.copytree(SHIPPED_NUMBA_CACHE, target)
    except OSError:  # a full tmpfs only costs compile time
        shutil.rmtree(target, ignore_errors=True)


def _install_strategy(raw: object) -> None:
    """Write uploaded code that came on stdin to ``/tmp/strategy/strategy.py`` (the image
    links ``/strategy`` there), read-only, and point the job at ``/strategy/strategy.py``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("strategy_source"), str):
        return
    os.makedirs(STRATEGY_DIR, mode=0o700, exist_ok=True)
    path = os.path.join(STRATEGY_DIR, "strategy.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(raw.pop("strategy_source"))
    os.chmod(path, 0o400)
    os.chmod(STRATEGY_DIR, 0o500)
    raw["strategy_path"] = STRATEGY_PATH


def _limit_of(exc: BaseException) -> str | None:
    """``"pids"`` when the failure is a refused fork or thread (the pids limit)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, BlockingIOError) or getattr(cur, "errno", None) == errno.EAGAIN:
            return "pids"
        if isinstance(cur, RuntimeError) and "can't start new thread" in str(cur):
            return "pids"
        if isinstance(cur, MemoryError):
            return "memory"
        cur = cur.__cause__ or cur.__context__
    return None


def main() -> int:
    """Read the job from stdin, run it and write its result or error line; the exit status as
    above."""
    protocol.take_stdout()
    protocol.timing("boot", _BOOT_S + time.perf_counter() - _T0)
    mark = time.perf_counter()
    _prepare_numba_cache()
    protocol.timing("numba_cache", time.perf_counter() - mark)
    mark = time.perf_counter()
    try:
        raw = json.loads(sys.stdin.buffer.read(MAX_JOB_BYTES) or b"null")
    except ValueError as exc:
        protocol.error("config", f"the job on stdin is not JSON: {exc}")
        return 0
    try:
        _install_strategy(raw)
    except OSError as exc:  # a full tmpfs
        protocol.error("internal", f"could not write the strategy file: {exc}")
        return 0
    protocol.timing("stdin", time.perf_counter() - mark)
    mark = time.perf_counter()
    try:
        from pymongo.errors import OperationFailure, PyMongoError

        from kwont_quant import (
            ConfigError,
            DataError,
            ParameterError,
            StrategyError,
            StrategyLoadError,
        )
        from kwont_sandbox.job import parse_job
        from kwont_sandbox.run import run_job

        protocol.timing("import", time.perf_counter() - mark)
        job = parse_job(raw)
        result = run_job(job)
    except StrategyError as exc:
        limit = _limit_of(exc)
        extra = {"limit": limit} if limit else {}
        protocol.error("strategy", str(exc), exc.traceback_text or traceback.format_exc(), **extra)
    except StrategyLoadError as exc:
        protocol.error("strategy", str(exc), traceback.format_exc())
    except (ConfigError, ParameterError) as exc:
        protocol.error("config", str(exc))
    except DataError as exc:
        protocol.error("data", str(exc))
    except PyMongoError as exc:
        if exc.timeout:  # the URI's timeoutMS (KWONT_SANDBOX_QUERY_TIMEOUT_MS) ran out
            what = "market data query exceeded the sandbox's time limit"
        else:
            what = "market data refused" if isinstance(exc, OperationFailure) else \
                "market data unreachable"  # fmt: skip
        protocol.error("internal", f"{what}: {exc}", traceback.format_exc())
    except BaseException as exc:  # a crash (even SystemExit) must still end in one line
        limit = _limit_of(exc)
        extra = {"limit": limit} if limit else {}
        protocol.error("internal", f"{type(exc).__name__}: {exc}", traceback.format_exc(), **extra)
    else:
        mark = time.perf_counter()
        protocol.emit({"type": "result", **result})
        protocol.timing("encode", time.perf_counter() - mark)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # os._exit: no atexit handlers or non-daemon threads left by strategy code keep us alive.
    os._exit(code)
