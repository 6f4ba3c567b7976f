"""Deciding what a finished sandbox run ends in, from what the launcher saw of it."""

from __future__ import annotations

from typing import Any

from kwont_backtest_runner.limits import SandboxLimits
from kwont_backtest_runner.outcomes import Cause, Failed, Outcome, Succeeded, error_line_outcome
from kwont_backtest_runner.redact import Redactor
from kwont_backtest_runner.result_check import InvalidResult, check_curves, check_result
from kwont_backtest_runner.sandbox_io import decode_curves


def decide(
    cancelled: bool,
    verdict: Cause | None,
    final: list[dict[str, Any]],
    problem: list[str],
    oom: bool,
    status: int,
    stderr: str,
    lim: SandboxLimits,
    elapsed: float,
    redact: Redactor,
    secret: bool = True,
) -> Outcome:
    """The outcome of a finished run: the launcher's own verdict (cancel, timeout, pids,
    output, protocol) first, then OOM, then the sandbox's final line, then its exit status.
    ``secret``: the result line may hold a credential, so its strings are masked."""

    def fail(reason: str, cause: Cause, tb: str = "") -> Failed:
        return Failed(reason, cause, tb, elapsed)

    if cancelled:
        return fail("cancelled", "cancelled")
    if verdict == "timeout":
        return fail(f"timed out after {lim.timeout_s:g}s", "timeout", stderr)
    if verdict == "pids":
        return fail(f"process limit ({lim.pids}) exceeded (then timed out)", "pids", stderr)
    if verdict == "output":
        return fail(f"output limit exceeded ({lim.output_mib} MiB)", "output")
    if verdict == "internal":
        return fail(f"sandbox protocol violated: {problem[0]}", "internal", stderr)
    if oom:
        return fail(f"memory limit ({lim.memory_mib} MiB) exceeded", "memory", stderr)
    if final and final[0]["type"] == "result":
        body = {k: v for k, v in final[0].items() if k not in ("type", "v")}
        try:
            check_result(body)
            result = decode_curves(body)
            check_curves(result)
        except InvalidResult as exc:
            return fail(f"invalid result from the sandbox: {exc}", "result")
        except (ValueError, KeyError) as exc:
            return fail(f"sandbox result unreadable: {exc}", "internal")
        if not secret:
            return Succeeded(result, elapsed, raw=body)
        return Succeeded(redact.tree(result), elapsed, raw=redact.tree(body))
    if final:
        return error_line_outcome(final[0], lim, elapsed)
    if "Resource temporarily unavailable" in stderr or "can't start new thread" in stderr:
        return fail(f"process limit ({lim.pids}) exceeded", "pids", stderr)
    if status == 137:
        return fail("killed", "internal", stderr)
    last = stderr.strip().splitlines()[-1:] or ["no output"]
    return fail(f"sandbox exited with status {status} without a result: {last[0]}",
                "internal", stderr)  # fmt: skip
