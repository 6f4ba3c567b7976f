"""One place where numba is imported, so the rest of the library stays typed.

Every hot loop is compiled with ``nogil=True`` (the optimiser runs them on threads)
and ``cache=True`` (compiled code is reused across processes). Where no cache
directory is writable (a read-only sandbox image without NUMBA_CACHE_DIR) numba
refuses ``cache=True`` at decoration time; we then compile without a cache instead
of failing the import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba  # untyped: the root mypy config ignores its missing stubs

F = TypeVar("F", bound=Callable[..., Any])


def jit(fn: F) -> F:
    """Compile ``fn`` in nopython mode; never raises for a missing cache directory."""
    try:
        return cast(F, numba.njit(cache=True, nogil=True)(fn))
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return cast(F, numba.njit(cache=False, nogil=True)(fn))
