"""``python -m kwont_sandbox``: read one job on stdin, answer with JSON lines on stdout.

Exit status 0 whenever a ``result`` or ``error`` line was written (the line says which); a
non-zero status means the process was killed or the protocol itself failed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import traceback

from kwont_sandbox import protocol

MAX_JOB_BYTES = 16 * 1024 * 1024
# Compiled numba code shipped in the image; numba needs a writable cache dir, so it is
# copied to the tmpfs before kwont_quant (and numba) are imported.
SHIPPED_NUMBA_CACHE = "/opt/kwont/numba-cache"


def _prepare_numba_cache() -> None:
    target = os.environ.get("NUMBA_CACHE_DIR", "")
    if not target or os.path.exists(target) or not os.path.isdir(SHIPPED_NUMBA_CACHE):
        return
    try:
        shutil.copytree(SHIPPED_NUMBA_CACHE, target)
    except OSError:  # a full tmpfs only costs compile time
        shutil.rmtree(target, ignore_errors=True)


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
    _prepare_numba_cache()
    try:
        raw = json.loads(sys.stdin.buffer.read(MAX_JOB_BYTES) or b"null")
    except ValueError as exc:
        protocol.error("config", f"the job on stdin is not JSON: {exc}")
        return 0
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
    except OperationFailure as exc:
        protocol.error("internal", f"market data refused: {exc}", traceback.format_exc())
    except PyMongoError as exc:
        protocol.error("internal", f"market data unreachable: {exc}", traceback.format_exc())
    except BaseException as exc:  # a crash (even SystemExit) must still end in one line
        limit = _limit_of(exc)
        extra = {"limit": limit} if limit else {}
        protocol.error("internal", f"{type(exc).__name__}: {exc}", traceback.format_exc(), **extra)
    else:
        protocol.emit({"type": "result", **result})
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # os._exit: no atexit handlers or non-daemon threads left by strategy code keep us alive.
    os._exit(code)
