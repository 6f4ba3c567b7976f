"""The single seam where user strategy code is called.

Everything that runs strategy code (constructor and ``check``, ``warmup``,
``live_window``, ``generate``) goes through :func:`call_user`, which turns any
exception into a :class:`~kwont_quant.errors.StrategyError` carrying the traceback
text. Parameter errors pass through unchanged: they are the caller's bad input, not
a crash. The seam also checks what ``generate`` returned, so a malformed result is
refused here and never reaches the engine half-done.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from kwont_quant import indicators
from kwont_quant.candles import F64, Candles
from kwont_quant.errors import ParameterError, StrategyError
from kwont_quant.signals import (
    STOP_DISTANCE,
    STOP_NONE,
    STOP_PCT,
    BarSignal,
    Bools,
    SignalArrays,
    Signals,
    Stop,
)
from kwont_quant.strategy import Strategy

R = TypeVar("R")
ATR_DECAY_PERIODS = 41


def call_user(what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Call strategy code ``fn``; any exception becomes a StrategyError.

    Raises:
        StrategyError: ``fn`` raised (message names ``what``; traceback attached).
        ParameterError: re-raised as is.
    """
    try:
        return fn(*args, **kwargs)
    except ParameterError:
        raise
    except Exception as exc:
        raise StrategyError(
            f"strategy code failed in {what}: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        ) from exc


def instantiate(cls: type[Strategy], params: Mapping[str, object] | None = None) -> Strategy:
    """Build a strategy with ``params`` through the seam.

    Raises:
        ParameterError: unknown or out-of-range parameters.
        StrategyError: the strategy's own constructor or ``check`` crashed.
    """
    return call_user(f"{cls.__name__}.__init__", cls, **dict(params or {}))


def warmup_of(strategy: Strategy) -> int:
    """The strategy's warm-up length, checked to be a non-negative int.

    Raises:
        StrategyError: ``warmup`` raised or returned something else.
    """
    n = call_user("warmup", strategy.warmup)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise StrategyError(f"warmup() must return a non-negative int, got {n!r}")
    return int(n)


def _bools(value: object, name: str, n: int, required: bool) -> Bools:
    if value is None:
        if required:
            raise StrategyError(f"generate() returned no {name} array")
        return np.zeros(n, dtype=np.bool_)
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise StrategyError(f"signal {name!r} has shape {arr.shape}, expected ({n},)")
    if arr.dtype != np.bool_:
        if (
            arr.dtype.kind not in "biuf"
            or not np.isin(arr[~np.isnan(arr.astype(float))], (0, 1)).all()
        ):
            raise StrategyError(f"signal {name!r} must be boolean, got dtype {arr.dtype}")
        arr = np.nan_to_num(arr.astype(float)).astype(np.bool_)
    return np.ascontiguousarray(arr)


def _stop(stop: Stop | None, candles: Candles, name: str) -> tuple[int, F64]:
    n = len(candles)
    if stop is None:
        return STOP_NONE, np.zeros(n)
    if stop.kind == "pct":
        return STOP_PCT, np.full(n, stop.value)
    if stop.kind == "atr":
        dist = indicators.atr(candles.high, candles.low, candles.close, stop.atr_period)
        return STOP_DISTANCE, dist * stop.value
    d = stop.distances
    if d is None or d.shape != (n,):
        shape = None if d is None else d.shape
        raise StrategyError(f"{name} distances have shape {shape}, expected ({n},)")
    if (d[~np.isnan(d)] <= 0).any():
        raise StrategyError(f"{name} distances must be positive (NaN for none)")
    return STOP_DISTANCE, d


def compute_signals(strategy: Strategy, candles: Candles) -> SignalArrays:
    """Run ``generate`` through the seam and resolve its output for the engine.

    The strategy's warm-up travels with the arrays: the engine and the live path
    ignore signals on bars before it, so no entry is taken on an indicator that is
    not yet defined.

    Raises:
        StrategyError: ``generate`` raised, or returned anything other than
            well-shaped :class:`Signals` (wrong type, length, dtype, size hint outside
            (0, 1], malformed stops).
    """
    n = len(candles)
    out = call_user("generate", strategy.generate, candles)
    if not isinstance(out, Signals):
        raise StrategyError(f"generate() must return Signals, got {type(out).__name__}")
    el = _bools(out.enter_long, "enter_long", n, True)
    xl = _bools(out.exit_long, "exit_long", n, False)
    es = _bools(out.enter_short, "enter_short", n, False)
    xs = _bools(out.exit_short, "exit_short", n, False)
    if np.ndim(out.size) == 0:
        if not (0.0 < float(out.size) <= 1.0):
            raise StrategyError(f"size hint must be in (0, 1], got {out.size!r}")
        size = np.full(n, float(out.size))
    else:
        size = np.ascontiguousarray(out.size, dtype=np.float64)
        entering = el | es
        if size.shape != (n,) or not ((size[entering] > 0.0) & (size[entering] <= 1.0)).all():
            raise StrategyError("size hint must be in (0, 1] on every entry bar")
    sl = out.stop_loss if out.stop_loss is not None else type(strategy).stop_loss
    tp = out.take_profit if out.take_profit is not None else type(strategy).take_profit
    sl_kind, sl_value = _stop(sl, candles, "stop_loss")
    tp_kind, tp_value = _stop(tp, candles, "take_profit")
    warm = warmup_of(strategy)
    return SignalArrays(el, xl, es, xs, size, sl_kind, sl_value, tp_kind, tp_value, warm)


_KIND_NAMES = {STOP_PCT: "pct", STOP_DISTANCE: "distance"}


def latest_signal(strategy: Strategy, candles: Candles) -> BarSignal | None:
    """Signals of the newest candle of ``candles``; None when nothing fires (the live path).

    ``candles`` is the rolling window of closed candles (at least ``live_window`` of them
    for backtest parity; fewer is allowed, e.g. at start-up, but then the bar is inside the
    warm-up and yields nothing).

    Raises:
        StrategyError: as :func:`compute_signals`.
    """
    need = call_user("live_window", strategy.live_window)
    for rule in (type(strategy).stop_loss, type(strategy).take_profit):
        if rule is not None and rule.kind == "atr":
            # ATR is Wilder-smoothed: give its seed time to decay, as for indicators
            need = max(need, ATR_DECAY_PERIODS * rule.atr_period + 2)
    window = candles[max(0, len(candles) - need) :]
    sig = compute_signals(strategy, window)
    i = len(window) - 1
    if i < sig.warmup:
        return None
    flags = (
        bool(sig.enter_long[i]),
        bool(sig.exit_long[i]),
        bool(sig.enter_short[i]),
        bool(sig.exit_short[i]),
    )
    if not any(flags):
        return None

    def stop(kind: int, values: F64) -> tuple[str | None, float | None]:
        v = float(values[i])
        if kind == STOP_NONE or not np.isfinite(v):
            return None, None
        return _KIND_NAMES[kind], v

    sl = stop(sig.sl_kind, sig.sl_value)
    tp = stop(sig.tp_kind, sig.tp_value)
    return BarSignal(
        int(window.open_time_ms[i]),
        float(window.close[i]),
        *flags,
        float(sig.size[i]),
        sl[0],
        sl[1],
        tp[0],
        tp[1],
    )
