"""Reading OHLCV CSV files into validated :class:`~kwont_quant.candles.Candles`.

Two layouts are recognised from the first line:

* Binance public klines: 12 columns, no header, ``open_time`` first (epoch ms; the
  microsecond timestamps of newer spot dumps are converted). A header line with
  Binance's column names is accepted too.
* A headed CSV with ``timestamp,open,high,low,close,volume`` (any column order; the
  time column may also be called ``open_time``, ``time`` or ``date``; epoch seconds,
  milliseconds or microseconds, or ISO-8601 text, naive meaning UTC).

Nothing half-read is returned: the first bad line raises.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kwont_quant.candles import Candles
from kwont_quant.errors import DataError

_TIME_NAMES = ("timestamp", "open_time", "time", "date", "datetime")
_FIELDS = ("open", "high", "low", "close", "volume")


def _to_ms(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        dt = datetime.fromisoformat(text.strip())
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return round(dt.timestamp() * 1000)
    if value >= 1e14:  # microseconds
        return int(value // 1000)
    if value < 1e11:  # seconds
        return round(value * 1000)
    return int(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv(path: str | Path, *, allow_gaps: bool = False) -> Candles:
    """Read and validate an OHLCV CSV file (layouts in the module docstring).

    Raises:
        DataError: missing or unreadable file, unknown layout, a malformed line, or any
            check of :meth:`Candles.from_arrays` and (unless ``allow_gaps``)
            :meth:`Candles.check_no_gaps`; messages name the file and line.
    """
    p = Path(path)
    try:
        handle = p.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{p}: cannot open: {exc.strerror}") from exc
    with handle:
        rows = csv.reader(handle)
        first = next(rows, None)
        if first is None:
            raise DataError(f"{p}: empty file")
        cells = [c.strip().lower() for c in first]
        header = 0 if _is_number(cells[0]) else 1
        body: Iterable[list[str]]
        if header:
            tcol = next((cells.index(n) for n in _TIME_NAMES if n in cells), None)
            missing = [f for f in _FIELDS if f not in cells]
            if tcol is None or missing:
                raise DataError(
                    f"{p}: header must name timestamp,open,high,low,close,volume; "
                    f"missing {', '.join(missing) or 'a timestamp column'}"
                )
            cols = [tcol, *(cells.index(f) for f in _FIELDS)]
            body = rows
        else:
            if len(first) < 6:
                raise DataError(
                    f"{p}: line 1 has {len(first)} columns; expected a header "
                    "or Binance's 12 kline columns"
                )
            cols = [0, 1, 2, 3, 4, 5]
            body = itertools.chain([first], rows)
        times: list[int] = []
        values: list[list[float]] = [[] for _ in _FIELDS]
        width = max(cols) + 1
        for lineno, row in enumerate(body, start=1 + header):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) < width:
                raise DataError(f"{p}: line {lineno}: expected {width} columns, got {len(row)}")
            try:
                times.append(_to_ms(row[cols[0]]))
            except ValueError as exc:
                raise DataError(f"{p}: line {lineno}: bad timestamp {row[cols[0]]!r}") from exc
            for k, c in enumerate(cols[1:]):
                try:
                    values[k].append(float(row[c]))
                except ValueError as exc:
                    raise DataError(
                        f"{p}: line {lineno}: bad number {row[c]!r} in column {_FIELDS[k]}"
                    ) from exc
    if not times:
        raise DataError(f"{p}: no data lines")
    try:
        candles = Candles.from_arrays(np.array(times, dtype=np.int64), *values)
        if not allow_gaps:
            candles.check_no_gaps()
    except DataError as exc:
        message = re.sub(r"^row (\d+)", lambda m: f"line {int(m.group(1)) + 1 + header}", str(exc))
        raise DataError(f"{p}: {message}") from None
    return candles
