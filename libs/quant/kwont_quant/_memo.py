"""Indicators shared across the parameter sets of one sweep. Private: the optimiser turns
it on (:func:`sharing`), the public functions of :mod:`kwont_quant.indicators` use it.

A grid of 90 SMA crosses asks for 20 distinct SMAs 180 times. While a sweep runs, an
indicator of the swept candles' own arrays (``close``, ``high``, ...) is computed once per
distinct argument list, by whichever thread asks first (the others wait for it), and every
caller gets its own copy: a strategy that writes into its indicator cannot change what
another parameter set reads, and a run is bit-identical to one without sharing. Arrays a
strategy derived itself (``close * 2``) are never shared: their identity says nothing
about their content once they are gone.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import numpy as np

from kwont_quant.candles import Candles

R = TypeVar("R")
_FIELDS = ("open", "high", "low", "close", "volume")


class Shared:
    """Indicator results of one sweep, keyed by function, input arrays and arguments."""

    def __init__(self, candles: Iterable[Candles]) -> None:
        self._arrays = {id(a): a for c in candles for a in (getattr(c, f) for f in _FIELDS)}
        self._lock = threading.Lock()
        self._memo: dict[Hashable, Future[Any]] = {}

    def key(self, name: str, args: tuple[Any, ...]) -> Hashable | None:
        """The memo key of ``name(*args)``; None unless every array is a swept one and
        every other argument a hashable scalar."""
        parts: list[Hashable] = [name]
        for a in args:
            if isinstance(a, np.ndarray):
                if self._arrays.get(id(a)) is not a:
                    return None
                parts.append(("array", id(a)))
            elif isinstance(a, int | float | np.integer | np.floating):
                parts.append((type(a).__name__, a))
            else:
                return None
        return tuple(parts)

    def get(self, key: Hashable, compute: Callable[[], R]) -> R:
        with self._lock:
            fut = self._memo.get(key)
            owner = fut is None
            if fut is None:
                fut = self._memo[key] = Future()
        if owner:
            try:
                fut.set_result(compute())
            except BaseException as exc:
                with self._lock:
                    del self._memo[key]  # not remembered: the next caller tries again
                fut.set_exception(exc)
                raise
        return cast(R, _copied(fut.result()))


def _copied(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(v.copy() for v in value)
    return value.copy()


_ACTIVE: ContextVar[Shared | None] = ContextVar("kwont_shared_indicators", default=None)


@contextmanager
def sharing(shared: Shared) -> Iterator[None]:
    """Share indicators through ``shared`` in this thread (context) until the block ends."""
    token = _ACTIVE.set(shared)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def memo(fn: Callable[..., R]) -> Callable[..., R]:
    """``fn`` answered from the active sweep's :class:`Shared` (positional arguments only
    are shared; keyword calls compute as usual)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        shared = _ACTIVE.get()
        if shared is None or kwargs:
            return fn(*args, **kwargs)
        key = shared.key(fn.__name__, args)
        if key is None:
            return fn(*args)
        return shared.get(key, lambda: fn(*args))

    return wrapper
