"""Binance USD-M funding-rate history: ``GET /fapi/v1/fundingRate`` through python-binance,
and the public data CSV (data.binance.vision ``futures/um/.../fundingRate``), as funding
columns (``kwont_ohlcv.funding.columns``).

The REST endpoint answers at most 1000 rows per request, oldest first from ``startTime``;
pages are fetched from the last funding time seen + 1 ms until a short page. Rows are
``{"symbol", "fundingTime", "fundingRate", "markPrice"}`` with the numbers as decimal
strings; ``markPrice`` is ``""`` on old rows (stored as NaN).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, TypeAdapter, field_validator

from kwont_marketdata.binance_rest import _call
from kwont_ohlcv import funding
from kwont_ohlcv.packing import Columns

PAGE = 1000  # Binance's largest fundingRate page
FEED = "binance-futures"
CSV_HEADER = "calc_time,funding_interval_hours,last_funding_rate"
NAME = re.compile(r"^(?P<symbol>[A-Z0-9]{2,30})-fundingRate-")


class FundingRate(BaseModel):
    """One row of ``GET /fapi/v1/fundingRate``, in Binance's field names."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    symbol: str
    fundingTime: int
    fundingRate: Decimal
    markPrice: Decimal | None = None

    @field_validator("markPrice", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


_ROWS = TypeAdapter(list[FundingRate])


def rows_to_columns(rows: list[FundingRate]) -> Columns:
    """Funding columns of API rows (times rounded to the minute).

    Raises:
        ValueError: two rows on one minute, or a non-finite rate.
    """
    marks = [float(r.markPrice) if r.markPrice is not None else np.nan for r in rows]
    return funding.columns(
        [r.fundingTime for r in rows], [float(r.fundingRate) for r in rows], marks
    )


async def pages(
    client: Any, symbol: str, start_ms: int, end_ms: int
) -> AsyncIterator[list[FundingRate]]:
    """Pages of funding rows with ``fundingTime`` in ``[start_ms, end_ms)``, oldest first.

    Raises:
        binance.exceptions.BinanceAPIException: Binance refused a request (e.g. an unknown
            symbol), or still rate-limited it after ``binance_rest.RETRIES`` attempts.
        aiohttp.ClientError: Binance became unreachable.
        pydantic.ValidationError: a row not in Binance's format.
    """
    cursor = start_ms
    while cursor < end_ms:
        raw = await _call(
            client.futures_funding_rate, symbol=symbol, startTime=cursor, endTime=end_ms - 1,
            limit=PAGE,
        )  # fmt: skip
        rows = _ROWS.validate_python(raw)
        page = [r for r in rows if start_ms <= r.fundingTime < end_ms]
        if page:
            yield page
        after = max(r.fundingTime for r in rows) + 1 if rows else cursor
        if len(rows) < PAGE or after <= cursor:  # a short page, or one that does not advance
            return
        cursor = after


async def fetch(client: Any, symbol: str, start_ms: int, end_ms: int) -> Columns:
    """All funding rows of ``[start_ms, end_ms)`` as funding columns (see ``pages``)."""
    rows = [r async for page in pages(client, symbol, start_ms, end_ms) for r in page]
    return rows_to_columns(rows)


class FundingCsvError(ValueError):
    """A funding CSV line that cannot be read; the message names file, line and content."""


def symbol_of(path: Path) -> str | None:
    """The symbol a data.binance.vision funding file name carries, if it is one."""
    m = NAME.match(path.name)
    return m["symbol"] if m else None


def _bad(path: Path, number: int, line: str, why: str) -> FundingCsvError:
    return FundingCsvError(
        f"{path} line {number}: {line.strip()!r}: {why}. Expected Binance's funding CSV, "
        f"header {CSV_HEADER!r} and rows like '1704067200000,8,0.00010000' (epoch ms, hours, "
        f"rate as a fraction); fix or delete that line and import again (nothing was stored)"
    )


def read_csv(path: Path) -> Columns:
    """Funding columns of one Binance funding CSV (header optional, blank lines skipped).

    Raises:
        FundingCsvError: the file is unreadable, or a line is not ``calc_time,
            funding_interval_hours,last_funding_rate`` with numbers, or repeats a time.
    """
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise FundingCsvError(f"{path}: cannot read: {exc}") from exc
    times: list[int] = []
    rates: list[float] = []
    seen: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (number == 1 and line.strip().startswith("calc_time")):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 3:
            raise _bad(path, number, line, f"{len(fields)} fields, expected 3")
        try:
            t, hours, rate = int(fields[0]), int(fields[1]), float(fields[2])
        except ValueError:
            raise _bad(path, number, line, "not numbers") from None
        if t <= 0 or hours <= 0 or not np.isfinite(rate):
            raise _bad(path, number, line, "time and interval must be positive, rate finite")
        minute = int(funding.round_to_minute([t])[0])
        if minute in seen:
            raise _bad(path, number, line, f"same funding time as line {seen[minute]}")
        seen[minute] = number
        times.append(t)
        rates.append(rate)
    if not times:
        raise FundingCsvError(f"{path}: no funding rows (expected header {CSV_HEADER!r})")
    return funding.columns(times, rates)
