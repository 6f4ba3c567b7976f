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
from kwont_quant import ConfigError
from kwont_quant.funding import read_funding_csv

PAGE = 1000  # Binance's largest fundingRate page
FEED = "binance-futures"
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


def read_csv(path: Path) -> Columns:
    """Funding columns of one Binance funding CSV (header optional, blank lines skipped),
    parsed by the backtest engine's own reader (``kwont_quant.funding.read_funding_csv``), so
    a file ``kwont backtest --funding`` takes is a file this imports, and the other way round.

    Raises:
        FundingCsvError: the file is unreadable, or a line is not ``calc_time,
            funding_interval_hours,last_funding_rate`` with numbers, or repeats a time.
    """
    try:
        rows = read_funding_csv(path)
    except ConfigError as exc:
        raise FundingCsvError(
            f"{exc}; fix or delete that line and import again (nothing was stored)"
        ) from exc
    return funding.columns(rows.times.tolist(), rows.rates.tolist())
