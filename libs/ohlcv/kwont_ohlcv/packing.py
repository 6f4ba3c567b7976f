"""Named float64 columns packed as little-endian bytes, merged, split and clipped by a key.

The one packing of both stores: candle buckets (buckets.py) and funding years (funding.py).
Every column is a float64 array of one length, sorted by a key column (epoch ms, exact in
float64); each is stored as the raw bytes of its little-endian float64 array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Columns = dict[str, Array]
"""Column name -> float64 array, all the same length, sorted by the key column."""

LE = np.dtype("<f8")


def check(columns: Mapping[str, Array], names: Sequence[str]) -> int:
    """The common length of ``names`` in ``columns``.

    Raises:
        ValueError: a column is missing, or the columns differ in length.
    """
    missing = [c for c in names if c not in columns]
    if missing:
        raise ValueError(f"missing columns: {missing}")
    n = len(columns[names[0]])
    if any(len(columns[c]) != n for c in names):
        raise ValueError("columns differ in length")
    return n


def check_increasing(columns: Mapping[str, Array], key: str) -> None:
    """Raises ValueError unless ``columns[key]`` is strictly increasing."""
    times = np.asarray(columns[key], dtype=np.float64)
    if len(times) > 1 and not bool(np.all(np.diff(times) > 0)):
        raise ValueError(f"{key} must be strictly increasing")


def pack_columns(columns: Mapping[str, Array], names: Sequence[str]) -> dict[str, bytes]:
    """``{name: little-endian float64 bytes}`` of each of ``names``."""
    return {c: np.ascontiguousarray(columns[c], dtype=LE).tobytes() for c in names}


def unpack_columns(packed: Mapping[str, bytes], names: Sequence[str]) -> Columns:
    """Columns of ``pack_columns``'s output (copies, writable, native float64)."""
    return {c: np.frombuffer(packed[c], dtype=LE).astype(np.float64) for c in names}


def merge_columns(old: Columns, new: Columns, key: str, names: Sequence[str]) -> Columns:
    """Union of two column sets by ``key``; a row of ``new`` replaces the row of ``old`` with
    the same key. Idempotent: merging the same rows again changes nothing."""
    check(old, names)
    check(new, names)
    times = np.concatenate([new[key], old[key]])
    _, first = np.unique(times, return_index=True)  # first occurrence: ``new`` wins
    order = first[np.argsort(times[first], kind="stable")]
    return {c: np.concatenate([new[c], old[c]])[order] for c in names}


def split_columns(
    columns: Columns, key: str, names: Sequence[str], bounds: Callable[[int], tuple[int, int]]
) -> Iterator[tuple[int, Columns]]:
    """``(period_start, columns)`` for each period the (sorted) rows touch; ``bounds(t)`` is
    the ``[start, end)`` of the period holding key ``t``."""
    n = check(columns, names)
    i = 0
    times = columns[key]
    while i < n:
        start, end = bounds(int(times[i]))
        j = int(np.searchsorted(times, end, side="left"))
        yield start, {c: columns[c][i:j] for c in names}
        i = j


def concat_columns(
    parts: Sequence[Columns], key: str, names: Sequence[str], start_ms: int, end_ms: int
) -> Columns:
    """``parts`` (in key order) joined and clipped to keys in ``[start_ms, end_ms)``."""
    if not parts:
        return {c: np.empty(0, dtype=np.float64) for c in names}
    joined = {c: np.concatenate([p[c] for p in parts]) for c in names}
    keep = (joined[key] >= start_ms) & (joined[key] < end_ms)
    return {c: joined[c][keep] for c in names}
