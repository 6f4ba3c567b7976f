"""Perpetual funding for the backtest engine: the rows, Binance's public CSV, and the map
of rows onto bars.

The rule (docs/strategies.md, "Funding"): at every funding row (time ``t``, rate ``r``,
mark price ``m``) a position held at ``t`` (entered at or before ``t``, exited after it)
pays ``signed_qty x m x r``; positive is paid, negative received. A missing (NaN) or zero
mark is replaced by the close of the last candle closed at or before ``t`` (the open of the
first candle when ``t`` is inside it). The kernel walks the mapped rows once, a few per day.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kwont_quant.candles import F64, I64, Candles
from kwont_quant.errors import ConfigError

CSV_HEADER = "calc_time,funding_interval_hours,last_funding_rate"
INTERVAL_MS = 8 * 3_600_000  # Binance's usual funding interval
MINUTE_MS = 60_000
MEAN_RATE = 0.0001  # 0.01 % per 8 hours, Binance's base rate for most USD-M perpetuals
RATE_SPREAD = 0.00015


@dataclass(frozen=True, eq=False)
class FundingRates:
    """Funding rows of one symbol: epoch-ms times (strictly increasing), rates per funding
    interval (fractions) and mark prices (NaN where the source has none)."""

    times: I64
    rates: F64
    marks: F64

    def __post_init__(self) -> None:
        t, r, m = self.times, self.rates, self.marks
        if not t.shape == r.shape == m.shape or t.ndim != 1:
            raise ConfigError("funding times, rates and marks must be 1-d and of one length")
        if t.shape[0] > 1 and not bool(np.all(np.diff(t) > 0)):
            raise ConfigError("funding times must be strictly increasing (sort, drop repeats)")
        if not bool(np.all(np.isfinite(r))):
            raise ConfigError("a funding rate is not a finite number")

    @classmethod
    def of(cls, times: object, rates: object, marks: object | None = None) -> FundingRates:
        """Rows from array-likes; ``marks`` None means none known (NaN)."""
        t = np.asarray(times, dtype=np.int64)
        r = np.asarray(rates, dtype=np.float64)
        m = np.full(t.shape, np.nan) if marks is None else np.asarray(marks, dtype=np.float64)
        return cls(t, r, m)

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def on_bars(self, candles: Candles, interval_ms: int | None = None) -> tuple[I64, F64, F64]:
        """``(bar, mark, rate)`` of the rows inside ``candles``' span: ``bar`` is the index
        of the candle holding the funding time, ``mark`` filled in where missing or 0."""
        opens = candles.open_time_ms
        n = opens.shape[0]
        # the bar length: the smallest step of the first bars (a diff of a year of minutes
        # would cost more than the whole funding walk)
        step = interval_ms or (int(np.diff(opens[:1025]).min()) if n > 1 else MINUTE_MS)
        bar = np.searchsorted(opens, self.times, side="right") - 1
        keep = (bar >= 0) & (self.times < int(opens[-1]) + step)
        bar, times = bar[keep].astype(np.int64), self.times[keep]
        marks, rates = self.marks[keep].copy(), self.rates[keep].copy()
        missing = ~(np.isfinite(marks) & (marks != 0.0))
        if bool(missing.any()):
            closed = np.searchsorted(opens + step, times, side="right") - 1
            fill = np.where(closed >= 0, candles.close[np.maximum(closed, 0)], candles.open[0])
            marks[missing] = fill[missing]
        return bar, marks, rates


NO_FUNDING = (np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))


def read_funding_csv(path: str | Path) -> FundingRates:
    """Rows of one Binance public funding CSV (data.binance.vision ``futures/um/.../
    fundingRate``, ``calc_time,funding_interval_hours,last_funding_rate``; header optional,
    blank lines skipped); times rounded to the minute, no mark prices.

    Raises:
        ConfigError: the file is unreadable, a line is malformed, or a time repeats.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from exc
    times: list[int] = []
    rates: list[float] = []
    seen: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (number == 1 and line.strip().startswith("calc_time")):
            continue
        fields = [f.strip() for f in line.split(",")]
        why = "" if len(fields) == 3 else f"{len(fields)} fields, expected 3"
        if not why:
            try:
                t, hours, rate = int(fields[0]), int(fields[1]), float(fields[2])
                if t <= 0 or hours <= 0 or not np.isfinite(rate):
                    why = "time and interval must be positive, rate finite"
            except ValueError:
                why = "not numbers"
        if not why:
            t = (t + MINUTE_MS // 2) // MINUTE_MS * MINUTE_MS
            why = f"same funding time as line {seen[t]}" if t in seen else ""
        if why:
            raise ConfigError(
                f"{p} line {number}: {line.strip()!r}: {why}. Expected Binance's funding "
                f"CSV, header {CSV_HEADER!r} and rows like '1704067200000,8,0.00010000' "
                "(epoch ms, hours, rate as a fraction)"
            )
        seen[t] = number
        times.append(t)
        rates.append(rate)
    if not times:
        raise ConfigError(f"{p}: no funding rows (expected header {CSV_HEADER!r})")
    order = np.argsort(np.asarray(times), kind="stable")
    return FundingRates.of(np.asarray(times)[order], np.asarray(rates)[order])


def synthetic_rate(symbol: str, time_ms: int, seed: int) -> float:
    """The demo market's funding rate of ``symbol`` at ``time_ms`` (deterministic, 8
    decimals; the formula of ``kwont-marketdata seed-demo``)."""
    digest = hashlib.blake2b(f"funding:{seed}:{symbol}:{time_ms}".encode(), digest_size=8)
    z = float(np.random.default_rng(int.from_bytes(digest.digest(), "little")).normal())
    return round(MEAN_RATE + RATE_SPREAD * z, 8)


def synthetic_funding(candles: Candles, symbol: str = "", seed: int = 0) -> FundingRates:
    """8-hourly synthetic funding (00:00, 08:00, 16:00 UTC) over ``candles``' span, the
    mark price the open of the candle holding each time."""
    opens = candles.open_time_ms
    step = int(np.diff(opens[:1025]).min()) if opens.shape[0] > 1 else MINUTE_MS
    first = -(-int(opens[0]) // INTERVAL_MS) * INTERVAL_MS
    times = np.arange(first, int(opens[-1]) + step, INTERVAL_MS, dtype=np.int64)
    at = np.searchsorted(opens, times, side="right") - 1
    rates = [synthetic_rate(symbol, int(t), seed) for t in times]
    return FundingRates.of(times, rates, candles.open[at])


def concat_funding(parts: list[FundingRates]) -> FundingRates:
    """The rows of several files (e.g. monthly CSVs) as one, sorted by time.

    Raises:
        ConfigError: two parts hold the same funding time.
    """
    if not parts:
        return FundingRates.of([], [])
    t = np.concatenate([p.times for p in parts])
    order = np.argsort(t, kind="stable")
    if t.shape[0] > 1 and bool(np.any(np.diff(t[order]) == 0)):
        raise ConfigError("two funding files hold the same funding time; give each month once")
    return FundingRates(
        t[order],
        np.concatenate([p.rates for p in parts])[order],
        np.concatenate([p.marks for p in parts])[order],
    )
