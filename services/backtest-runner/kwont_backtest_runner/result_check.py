"""The boundary check of a sandbox's ``result`` line: what user code could have written.

Strategy code runs in the entry point's process, so it can write its own result line
(docs/sandbox.md). Nothing from that line reaches storage before it passed the strict
models of :mod:`kwont_backtest_runner.result_lines`: known fields only, finite numbers,
money within what a ``Decimal`` column holds, bounded strings, counts and nesting.
A line that fails is a failed job ("invalid result from the sandbox: metrics.sharpe is not
finite"), never an exception in the runner.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ValidationError

from kwont_backtest_runner.result_lines import LINES, MAX_CURVE_POINTS, MONEY_LIMIT


class InvalidResult(ValueError):
    """A result line that is not what the sandbox entry point writes; ``str()`` names the
    first offending field ("metrics.sharpe is not finite")."""


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the result"


def _says(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "finite_number":
        return "is not finite"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "missing":
        return "is missing"
    if error.get("input") is None and kind.endswith("_type"):
        return "is null (not a finite number)" if "float" in kind else "is null"
    if kind.endswith(("_type", "_parsing")):
        return f"is not a valid {kind.split('_')[0]}"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind == "less_than_equal":
        return f"is above {ctx.get('le'):g}"
    if kind == "greater_than_equal":
        return f"is below {ctx.get('ge'):g}"
    return str(error["msg"]).lower()


def check_result(body: dict[str, Any]) -> None:
    """Validate a ``result`` line's payload (``type`` and ``v`` already removed).

    Raises:
        InvalidResult: unknown mode or field, non-finite or out-of-range number, or a
            string, list or mapping over its bound.
    """
    model = LINES.get(str(body.get("mode")))
    if model is None:
        raise InvalidResult(f"mode {str(body.get('mode'))[:40]!r} is not a known mode")
    try:
        model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _where(tuple(first["loc"]))
        if first["type"] == "value_error":  # ours: the message starts with "." or " "
            raise InvalidResult(where + str(first["msg"]).removeprefix("Value error, ")) from None
        raise InvalidResult(f"{where} {_says(first)}") from None


def check_curves(result: dict[str, Any]) -> None:
    """Validate the decoded equity curves of a backtest result: matching lengths, bounded,
    finite (an equity that overflowed fails the job here instead of storing infinities).

    Raises:
        InvalidResult: names the curve and the first bad point.
    """
    curves = {"equity_curve": result.get("equity_curve")}
    for symbol, block in (result.get("symbols") or {}).items():
        curves[f"symbols.{symbol}.equity_curve"] = block.get("equity_curve")
    for where, curve in curves.items():
        if not isinstance(curve, dict):
            continue
        times, values = curve["open_time_ms"], curve["equity"]
        if len(times) != len(values):
            raise InvalidResult(f"{where} has {len(times)} times but {len(values)} values")
        if len(values) > MAX_CURVE_POINTS:
            raise InvalidResult(f"{where} has more than {MAX_CURVE_POINTS} points")
        bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > MONEY_LIMIT))
        if len(bad):
            raise InvalidResult(
                f"{where}.equity is not finite (or beyond {MONEY_LIMIT:g}) at point {int(bad[0])}"
            )
