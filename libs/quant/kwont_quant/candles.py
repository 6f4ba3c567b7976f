"""The OHLCV container every other module works on, and its validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kwont_quant.errors import DataError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True, eq=False)
class Candles:
    """Closed candles of one symbol as aligned numpy columns (float64 prices, int64 ms).

    Build it with :meth:`from_arrays`, which validates; the constructor trusts its input
    (it is what slicing uses). Arrays are made read-only so a strategy cannot alter the
    data another strategy or the engine sees.
    """

    open_time_ms: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    @classmethod
    def from_arrays(
        cls,
        open_time_ms: ArrayLike,
        open: ArrayLike,
        high: ArrayLike,
        low: ArrayLike,
        close: ArrayLike,
        volume: ArrayLike | None = None,
    ) -> Candles:
        """Validate and wrap columns.

        Raises:
            DataError: columns of different lengths, no rows, a timestamp that is not
                strictly after the previous one (duplicate or unsorted), a NaN or
                infinite value, a non-positive price, a negative volume, or a high below
                the open/close/low (or a low above the open/close).
        """
        t = np.ascontiguousarray(open_time_ms, dtype=np.int64)
        cols = [np.ascontiguousarray(c, dtype=np.float64) for c in (open, high, low, close)]
        vol = (
            np.zeros(len(t), dtype=np.float64)
            if volume is None
            else np.ascontiguousarray(volume, dtype=np.float64)
        )
        candles = cls(t, cols[0], cols[1], cols[2], cols[3], vol)
        candles.validate()
        for arr in (t, *cols, vol):
            arr.setflags(write=False)
        return candles

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def __getitem__(self, item: slice) -> Candles:
        """Rows ``item`` (a slice) as new Candles sharing memory with these."""
        if not isinstance(item, slice):
            raise TypeError("Candles can only be sliced")
        return Candles(
            self.open_time_ms[item],
            self.open[item],
            self.high[item],
            self.low[item],
            self.close[item],
            self.volume[item],
        )

    def validate(self) -> None:
        """Check the invariants listed in :meth:`from_arrays`.

        Raises:
            DataError: naming the first offending row (0-based) and column.
        """
        n = len(self.open_time_ms)
        if n == 0:
            raise DataError("no candles")
        for name in (*_PRICE_COLUMNS, "volume"):
            if len(getattr(self, name)) != n:
                raise DataError(
                    f"column {name!r} has {len(getattr(self, name))} rows, expected {n}"
                )
        steps = np.diff(self.open_time_ms)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            kind = "duplicate" if steps[bad[0]] == 0 else "unsorted"
            raise DataError(
                f"row {i}: {kind} timestamp {int(self.open_time_ms[i])} "
                f"(previous row has {int(self.open_time_ms[i - 1])})"
            )
        for name in (*_PRICE_COLUMNS, "volume"):
            col = getattr(self, name)
            finite = np.isfinite(col)
            if not finite.all():
                i = int(np.flatnonzero(~finite)[0])
                raise DataError(f"row {i}: {name} is {col[i]} (NaN or infinite)")
            if name == "volume":
                if (col < 0).any():
                    i = int(np.flatnonzero(col < 0)[0])
                    raise DataError(f"row {i}: negative volume {col[i]}")
            elif (col <= 0).any():
                i = int(np.flatnonzero(col <= 0)[0])
                raise DataError(f"row {i}: {name} price {col[i]} is not positive")
        lo_body = np.minimum(self.open, self.close)
        hi_body = np.maximum(self.open, self.close)
        broken = (self.high < hi_body) | (self.low > lo_body)
        if broken.any():
            i = int(np.flatnonzero(broken)[0])
            raise DataError(
                f"row {i}: inconsistent candle (open={self.open[i]}, high={self.high[i]}, "
                f"low={self.low[i]}, close={self.close[i]})"
            )

    def interval_ms(self) -> int:
        """The bar interval: the most common step between open times (0 for one row)."""
        if len(self) < 2:
            return 0
        steps, counts = np.unique(np.diff(self.open_time_ms), return_counts=True)
        return int(steps[int(np.argmax(counts))])

    def check_no_gaps(self, interval_ms: int | None = None) -> None:
        """Require every step between open times to equal ``interval_ms``.

        ``interval_ms`` defaults to :meth:`interval_ms`.

        Raises:
            DataError: naming the row after the gap and the missing span.
        """
        step = interval_ms or self.interval_ms()
        if len(self) < 2:
            return
        steps = np.diff(self.open_time_ms)
        bad = np.flatnonzero(steps != step)
        if bad.size:
            i = int(bad[0]) + 1
            raise DataError(
                f"row {i}: gap in the data: open time {int(self.open_time_ms[i])} is "
                f"{int(steps[bad[0]])} ms after the previous candle, expected {step} ms "
                f"({bad.size} irregular step(s) in total)"
            )
