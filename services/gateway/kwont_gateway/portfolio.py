"""Portfolios (collection ``portfolios``: per account, the latest PortfolioSnapshot plus
``owner`` and an equity curve), orders and fills (event JSON plus ``owner``), and the
performance metrics of an equity curve."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kwont_gateway.backtests import decode_equity
from kwont_gateway.errors import not_found
from kwont_gateway.jobspec import parse_time
from kwont_gateway.principal import Principal
from kwont_gateway.state import Gateway

MS_PER_YEAR = 365.25 * 86_400_000
DAY_MS = 86_400_000
Array = np.ndarray[Any, Any]


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A portfolios document as the API shows it, money as decimal strings."""
    return {
        "account": doc["account"],
        "equity": _s(doc.get("equity")),
        "realized_pnl": _s(doc.get("realized_pnl")),
        "unrealized_pnl": _s(doc.get("unrealized_pnl")),
        "fees_paid": _s(doc.get("fees_paid")),
        "balances": doc.get("balances") or [],
        "positions": doc.get("positions") or [],
        "updated_at": doc.get("event_time"),
    }


async def find(gw: Gateway, principal: Principal) -> list[dict[str, Any]]:
    """The caller's portfolios without their equity curves, by account, at most 200."""
    cursor = gw.read.portfolios.find({"owner": principal.user_id}, {"equity_curve": 0})
    return [d async for d in cursor.sort("account", 1).limit(200)]


async def get(
    gw: Gateway, principal: Principal, account: str, curve: bool = False
) -> dict[str, Any]:
    """The caller's portfolio of account (with its equity curve when curve); a 404 when there
    is none."""
    projection = None if curve else {"equity_curve": 0}
    doc = await gw.read.portfolios.find_one(
        {"owner": principal.user_id, "account": account}, projection
    )
    if doc is None:
        raise not_found("portfolio", account)
    return dict(doc)


async def kill_switch(gw: Gateway, account: str, now_ms: int) -> dict[str, Any]:
    """The account's kill switch as the risk service keeps it (``risk_books``,
    docs/risk.md): tripped by a rule, it refuses every entry until the end of the UTC day
    it tripped on (``day``, days since the epoch) or a reset. Call only for an account the
    caller owns (risk books carry no owner)."""
    book = await gw.read.risk_books.find_one({"_id": account}, {"kill_switch": 1}) or {}
    switch = book.get("kill_switch") or {}
    tripped, day = bool(switch.get("tripped")), switch.get("day")
    return {
        "tripped": tripped,
        "active": tripped and (day is None or now_ms // DAY_MS <= day),
        "code": switch.get("code"),
        "reason": switch.get("reason"),
        "since": switch.get("since"),
    }


def curve_of(doc: dict[str, Any]) -> tuple[Array, Array]:
    """``(time_ms, equity)`` of a portfolio's curve: packed columns or ``[[t, v], ...]``."""
    raw = doc.get("equity_curve")
    if isinstance(raw, dict):
        return decode_equity(raw)
    rows = [r for r in raw or [] if isinstance(r, list | tuple) and len(r) >= 2]
    if not rows and isinstance(raw, list):
        rows = [(r.get("time"), r.get("equity")) for r in raw if isinstance(r, dict)]
    pairs = np.asarray([(float(t), float(v)) for t, v in rows if t is not None and v is not None])
    if pairs.size == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(pairs[:, 0])
    return pairs[order, 0], pairs[order, 1]


def clip(times: Array, values: Array, start: int | None, end: int | None) -> tuple[Array, Array]:
    """The points with start <= time < end (either bound optional)."""
    mask = np.ones(len(times), dtype=bool)
    if start is not None:
        mask &= times >= start
    if end is not None:
        mask &= times < end
    return times[mask], values[mask]


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def performance(account: str, times: Array, values: Array) -> dict[str, Any]:
    """Return, CAGR, volatility, Sharpe, Sortino (risk-free 0, annualised by the median bar)
    and max drawdown of an equity curve. Undefined values are None."""
    out: dict[str, Any] = {"account": account, "points": len(times)}
    if len(times) == 0:
        return out
    out.update(
        start_time=int(times[0]), end_time=int(times[-1]),
        start_equity=float(values[0]), end_equity=float(values[-1]),
    )  # fmt: skip
    if len(times) < 2 or values[0] <= 0:
        return out
    returns = np.diff(values) / np.where(values[:-1] > 0, values[:-1], np.nan)
    returns = returns[np.isfinite(returns)]
    step = float(np.median(np.diff(times))) or 60_000.0
    per_year = MS_PER_YEAR / step
    years = (times[-1] - times[0]) / MS_PER_YEAR
    total = float(values[-1] / values[0] - 1)
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0) ** 2))) if len(returns) else 0.0
    mean = float(returns.mean()) if len(returns) else 0.0
    peak = np.maximum.accumulate(values)
    out.update(
        total_return=total,
        cagr=_finite((1 + total) ** (1 / years) - 1) if years > 0 and total > -1 else None,
        volatility=_finite(std * math.sqrt(per_year)),
        sharpe=_finite(mean / std * math.sqrt(per_year)) if std > 0 else None,
        sortino=_finite(mean / downside * math.sqrt(per_year)) if downside > 0 else None,
        max_drawdown=_finite(float(np.max(1 - values / np.where(peak > 0, peak, np.nan)))),
    )
    return out


def ledger_query(
    principal: Principal, account: str | None, symbol: str | None, since: int | None
) -> dict[str, Any]:
    """The MongoDB filter for the caller's orders or fills by account, symbol and event_time >=
    since."""
    q: dict[str, Any] = {"owner": principal.user_id}
    if account:
        q["account"] = account
    if symbol:
        q["symbol"] = symbol.upper()
    if since is not None:
        q["event_time"] = {"$gte": since}
    return q


def ledger_public(doc: dict[str, Any]) -> dict[str, Any]:
    """An orders or fills document without its _id and owner."""
    return {k: v for k, v in doc.items() if k not in ("_id", "owner")}


async def ledger(
    gw: Gateway,
    collection: str,
    q: dict[str, Any],
    limit: int,
    offset: int,
    id_as: str | None = None,
) -> list[dict[str, Any]]:
    """Orders, fills, signals or rejections, newest first; ties (one candle, several
    documents) in a fixed order so pages never overlap. ``id_as`` names the field the stored
    ``_id`` is shown as (none: not shown)."""
    cursor = (
        gw.read[collection].find(q).sort([("event_time", -1), ("_id", -1)])
        .skip(offset).limit(limit)
    )  # fmt: skip
    if id_as is None:
        return [ledger_public(d) async for d in cursor]
    return [{id_as: str(d["_id"]), **ledger_public(d)} async for d in cursor]


async def equity_between(
    gw: Gateway,
    principal: Principal,
    account: str,
    start: int | str | None,
    end: int | str | None,
) -> tuple[Array, Array]:
    """The account's equity curve with open times in ``[start, end)`` (either bound optional;
    epoch ms or ISO-8601, as :func:`~kwont_gateway.jobspec.parse_time` reads them).

    Raises:
        ApiError: 422 a bound that is not a time; 404 when the account is not the caller's.
    """
    low = None if start is None else parse_time(start, "start")
    high = None if end is None else parse_time(end, "end")
    return clip(*curve_of(await get(gw, principal, account, curve=True)), low, high)
