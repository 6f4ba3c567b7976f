"""Binance USD-M notional brackets ("margin tiers"): the one place for the table and its
arithmetic, used by the backtest engine, the paper venue and risk.

It lives in kwont_quant, not kwont_common.trading, because the engine must not depend on
kwont_common (kwont_quant needs only numpy and numba; the services depend on both, so the
dependency stays one-way).

A bracket holds the notional range ``[notionalFloor, notionalCap)`` (quote currency), the
highest leverage a position of that size may use (``initialLeverage``), its maintenance
margin ratio (``maintMarginRatio``) and maintenance amount (``cum``). The maintenance margin
of a position of notional ``N`` in a bracket is ``N x mmr - cum``; ``cum`` is what makes it
continuous across the bracket edges: ``cum_n = cum_(n-1) + floor_n x (mmr_n - mmr_(n-1))``.

Isolated-margin liquidation price in one-way mode (Binance, "How to Calculate Liquidation
Price of USDⓈ-M Futures Contracts", with the cross-margin terms TMM and UPNL zero)::

    LP = (WB + cum - side x pos x entry) / (pos x mmr - side x pos)

``WB`` the isolated wallet balance (the position's margin), ``side`` +1 long / -1 short,
``pos`` the absolute position size, ``entry`` the entry price, ``mmr`` and ``cum`` of the
bracket of the position's notional. With ``cum = 0`` and ``WB = pos x entry / L`` it is the
flat formula ``entry (1 - side/L) / (1 - side x mmr)`` the engine uses without tiers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from kwont_quant._brackets_default import DEFAULT_PAYLOAD
from kwont_quant._jit import jit
from kwont_quant.candles import F64
from kwont_quant.errors import ConfigError


@dataclass(frozen=True)
class Bracket:
    """One notional bracket, with Binance's meaning of each field."""

    bracket: int
    initial_leverage: int
    notional_floor: Decimal
    notional_cap: Decimal
    maint_margin_ratio: Decimal
    cum: Decimal

    def maintenance_margin(self, notional: Decimal) -> Decimal:
        """Maintenance margin of a position of ``notional`` in this bracket."""
        return notional * self.maint_margin_ratio - self.cum


@dataclass(frozen=True)
class BracketTable:
    """A symbol's brackets, contiguous from notional 0 upwards.

    Raises:
        ConfigError: no brackets, a gap or overlap between brackets, a first floor other
            than 0, leverage rising with notional, or a ratio outside ``[0, 1)``.
    """

    symbol: str
    brackets: tuple[Bracket, ...]

    def __post_init__(self) -> None:
        b = self.brackets
        if not b:
            raise ConfigError(f"{self.symbol}: no notional brackets")
        if b[0].notional_floor != 0:
            raise ConfigError(f"{self.symbol}: the first bracket must start at notional 0")
        for prev, cur in itertools.pairwise(b):
            if cur.notional_floor != prev.notional_cap:
                raise ConfigError(
                    f"{self.symbol}: bracket {cur.bracket} starts at {cur.notional_floor}, "
                    f"bracket {prev.bracket} ends at {prev.notional_cap}"
                )
            if cur.initial_leverage > prev.initial_leverage:
                raise ConfigError(f"{self.symbol}: leverage rises at bracket {cur.bracket}")
        for x in b:
            if not (x.notional_cap > x.notional_floor and 0 <= x.maint_margin_ratio < 1):
                raise ConfigError(f"{self.symbol}: bracket {x.bracket} is malformed")
            if x.initial_leverage < 1:
                raise ConfigError(f"{self.symbol}: bracket {x.bracket} has leverage < 1")

    def for_notional(self, notional: Decimal) -> Bracket | None:
        """The bracket holding ``notional`` (floor inclusive, cap exclusive); None above
        the last cap (the venue refuses such a position)."""
        for x in self.brackets:
            if notional < x.notional_cap:
                return x
        return None

    def max_leverage(self, notional: Decimal) -> int:
        """Highest leverage a position of ``notional`` may use (0: none may)."""
        x = self.for_notional(notional)
        return 0 if x is None else x.initial_leverage

    def max_notional(self, leverage: float) -> Decimal:
        """Largest notional a position at ``leverage`` may have (0 when even the first
        bracket does not allow that leverage)."""
        cap = Decimal(0)
        for x in self.brackets:
            if x.initial_leverage >= leverage:
                cap = x.notional_cap
        return cap

    def arrays(self) -> tuple[F64, F64, F64]:
        """``(caps, mmr, cum)`` as float64 arrays for the compiled engine."""

        def col(values: Iterable[Decimal]) -> F64:
            return np.array([float(v) for v in values], dtype=np.float64)

        b = self.brackets
        return (
            col(x.notional_cap for x in b),
            col(x.maint_margin_ratio for x in b),
            col(x.cum for x in b),
        )

    def liquidation(self, side: int, qty: float, entry: float, leverage: float) -> float:
        """Liquidation price of an isolated position of ``qty`` at ``entry`` whose margin
        is its notional over ``leverage``, by the bracket of its notional (the last
        bracket's rate above the last cap)."""
        notional = qty * entry
        x = self.for_notional(Decimal(repr(notional))) or self.brackets[-1]
        return float(
            liquidation_price(
                side, qty, entry, notional / leverage, float(x.maint_margin_ratio), float(x.cum)
            )
        )


def _dec(raw: Any, what: str) -> Decimal:
    try:
        # str() first: a JSON float such as 0.0065 must not carry its binary error.
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise ConfigError(f"bad {what} {raw!r} in a leverage bracket") from exc
    if not value.is_finite():
        raise ConfigError(f"bad {what} {raw!r} in a leverage bracket")
    return value


def parse_leverage_brackets(payload: Any) -> dict[str, BracketTable]:
    """Tables from Binance's ``GET /fapi/v1/leverageBracket`` answer (a list of
    ``{"symbol", "brackets": [...]}``, or one such object when asked for one symbol).
    ``notionalCoef`` (a per-user adjustment) is not applied: the table is the venue's.

    Raises:
        ConfigError: the payload is not in that format, or a table is malformed.
    """
    items = [payload] if isinstance(payload, Mapping) else payload
    if not isinstance(items, list):
        raise ConfigError("a leverage-bracket payload is a list of symbols")
    tables: dict[str, BracketTable] = {}
    for item in items:
        try:
            symbol = str(item["symbol"])
            rows = sorted(item["brackets"], key=lambda r: int(r["bracket"]))
            brackets = tuple(
                Bracket(
                    bracket=int(r["bracket"]),
                    initial_leverage=int(_dec(r["initialLeverage"], "initialLeverage")),
                    notional_floor=_dec(r["notionalFloor"], "notionalFloor"),
                    notional_cap=_dec(r["notionalCap"], "notionalCap"),
                    maint_margin_ratio=_dec(r["maintMarginRatio"], "maintMarginRatio"),
                    cum=_dec(r["cum"], "cum"),
                )
                for r in rows
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not a leverage-bracket entry: {item!r:.200}") from exc
        tables[symbol] = BracketTable(symbol, brackets)
    return tables


@jit
def liquidation_price(
    side: int, qty: float, entry: float, wallet: float, mmr: float, cum: float
) -> float:
    """Binance's isolated, one-way liquidation price (see the module docstring): ``side``
    +1/-1, ``qty`` > 0, ``wallet`` the isolated margin, ``mmr``/``cum`` of the bracket of
    the position's notional. Below 0 (a long that cannot be liquidated) it returns 0."""
    lp = (wallet + cum - side * qty * entry) / (qty * mmr - side * qty)
    return max(lp, 0.0)


DEFAULT_TABLES: dict[str, BracketTable] = parse_leverage_brackets(DEFAULT_PAYLOAD)
"""Built-in tables of the demo symbols (see :mod:`kwont_quant._brackets_default`)."""


def default_table(symbol: str) -> BracketTable | None:
    """The built-in table of ``symbol`` (None when there is none)."""
    return DEFAULT_TABLES.get(symbol)
