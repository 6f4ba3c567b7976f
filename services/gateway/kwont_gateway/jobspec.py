"""From a request's run specification to validated ``BacktestJob`` fields.

Shared by backtests and optimisations: resolve the strategy and check its params, resolve the
symbol filter, parse the period, and check that candles exist for every symbol.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from kwont_common.events import BacktestJob, StrategyRef, now_ms
from kwont_gateway import strategies, symbols
from kwont_gateway.errors import invalid
from kwont_gateway.models.common import RunSpec
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway

MAX_MS = 253_402_300_799_000  # 9999-12-31


def parse_time(value: int | str, field: str) -> int:
    """Epoch ms from epoch ms or ISO-8601 (naive means UTC).

    Raises:
        ApiError: 422 naming ``field``.
    """
    if isinstance(value, int):
        ms = value
    else:
        text = value.strip()
        if text.lstrip("-").isdigit():
            ms = int(text)
        else:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise invalid(
                    f"{field}: not epoch ms nor an ISO-8601 time: {value!r}", field
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            ms = int(moment.timestamp() * 1000)
    if not 0 <= ms <= MAX_MS:
        raise invalid(f"{field}: {value!r} is out of range", field)
    return ms


@dataclass(frozen=True)
class Resolved:
    """A run specification resolved against strategies, symbols and market data."""

    strategy: StrategyRef
    params: dict[str, Any]
    parameters: list[dict[str, Any]]
    symbols: list[str]
    start_ms: int
    end_ms: int


async def resolve(
    gw: Gateway, principal: Principal, spec: RunSpec, check_params: bool = True
) -> Resolved:
    """Raises:
    ApiError: 404 for a foreign or unknown strategy; 422 for bad params, symbols, period or
        missing candles.
    """
    start = parse_time(spec.start, "start")
    end = parse_time(spec.end, "end")
    if end <= start:
        raise invalid("end must be after start", "end")
    ref, params, described = await strategies.resolve(
        gw, principal, spec.strategy, spec.version, spec.params if check_params else {}
    )
    q = None
    if spec.symbol_filter is not None:
        f = spec.symbol_filter
        q = symbols.query(f.quote_asset, f.status, f.min_volume_24h, f.min_market_cap)
    limit = spec.symbol_filter.limit if spec.symbol_filter else symbols.MAX_SYMBOLS
    names = await symbols.resolve(gw.read, spec.symbols, q, limit)
    await check_candles(gw, names, spec.interval, start, end)
    return Resolved(
        ref, params if check_params else dict(spec.params), described, names, start, end
    )


async def check_candles(gw: Gateway, names: list[str], interval: str, start: int, end: int) -> None:
    """One query: which of ``names`` have candle buckets overlapping ``[start, end)``.

    Raises:
        ApiError: 422 naming the symbols without data.
    """
    pipeline: list[dict[str, Any]] = [
        {
            "$match": {
                "symbol": {"$in": names},
                "interval": interval,
                "period_start": {"$lt": end},
                "period_end": {"$gt": start},
            }
        },
        {"$group": {"_id": "$symbol"}},
    ]
    have = {row["_id"] async for row in await gw.market.candles.aggregate(pipeline)}
    missing = [n for n in names if n not in have]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise invalid(f"no {interval} candles between start and end for: {shown}", "symbols")


def build_job(spec: RunSpec, resolved: Resolved, **fields: Any) -> BacktestJob:
    """The event, validated.

    Raises:
        ApiError: 422 when the combination is refused by the event model.
    """
    try:
        return BacktestJob(
            event_time=now_ms(),
            source="gateway",
            strategy=resolved.strategy,
            params=resolved.params,
            symbols=resolved.symbols,
            interval=spec.interval,
            start_time=resolved.start_ms,
            end_time=resolved.end_ms,
            cash=spec.cash,
            fee_bps=spec.fee_bps,
            slippage_bps=spec.slippage_bps,
            leverage=spec.leverage,
            long_only=spec.long_only,
            margin_tiers=spec.margin_tiers,
            funding=spec.funding,
            sizing=spec.sizing,
            **fields,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise invalid(f"{where}: {first['msg']}", where) from None
