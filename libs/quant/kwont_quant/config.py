"""Backtest settings, validated at construction (fail fast)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from kwont_quant.errors import ConfigError


@dataclass(frozen=True)
class Sizing:
    """How big an entry is.

    ``fraction``: ``value`` of current equity (1.0 = all in) is committed as margin plus
    entry fee. ``notional``: ``value`` in quote currency of position notional, capped to
    what the equity can carry. The strategy's size hint (0, 1] multiplies either.
    """

    mode: Literal["fraction", "notional"] = "fraction"
    value: float = 1.0

    def __post_init__(self) -> None:
        if self.mode == "fraction" and not (0.0 < self.value <= 1.0):
            raise ConfigError(f"fraction sizing must be in (0, 1], got {self.value!r}")
        if self.mode == "notional" and not (self.value > 0.0 and math.isfinite(self.value)):
            raise ConfigError(f"notional sizing must be positive, got {self.value!r}")
        if self.mode not in ("fraction", "notional"):
            raise ConfigError(f"sizing mode must be 'fraction' or 'notional', got {self.mode!r}")


@dataclass(frozen=True)
class BacktestConfig:
    """Account and execution settings of a backtest.

    Fees and slippage are in basis points per side. ``leverage`` > 1 models USD-M
    futures with isolated margin; ``maintenance_margin`` is the maintenance margin rate
    used for the liquidation price (Binance's lowest tier is 0.4 %). ``margin_tiers``
    replaces that flat rate by the symbol's notional brackets
    (:mod:`kwont_quant.brackets`): each position's liquidation price uses the rate and
    maintenance amount of the bracket of its notional, and a position is capped to the
    largest notional the brackets allow at ``leverage``. ``close_at_end``
    closes a position still open after the last bar at its close (paying the exit fee);
    by default it is left open and marked to the last close. With several symbols,
    ``cash`` is split equally between them. ``interval_ms`` overrides the bar interval
    used for annualisation (default: the median step of the data).
    """

    cash: float = 10_000.0
    fee_bps: float = 10.0
    slippage_bps: float = 0.0
    sizing: Sizing = field(default_factory=Sizing)
    leverage: float = 1.0
    maintenance_margin: float = 0.004
    margin_tiers: bool = False
    long_only: bool = False
    close_at_end: bool = False
    interval_ms: int | None = None

    def __post_init__(self) -> None:
        for name in ("cash", "fee_bps", "slippage_bps", "leverage", "maintenance_margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{name} must be a number, got {value!r}")
        if not isinstance(self.margin_tiers, bool):
            raise ConfigError(f"margin_tiers must be true or false, got {self.margin_tiers!r}")
        if not isinstance(self.sizing, Sizing):
            raise ConfigError(f"sizing must be a Sizing, got {self.sizing!r}")
        checks = (
            (
                self.cash > 0.0 and math.isfinite(self.cash),
                f"cash must be positive, got {self.cash!r}",
            ),
            (
                0.0 <= self.fee_bps < 10_000.0,
                f"fee_bps must be in [0, 10000), got {self.fee_bps!r}",
            ),
            (
                0.0 <= self.slippage_bps < 10_000.0,
                f"slippage_bps must be in [0, 10000), got {self.slippage_bps!r}",
            ),
            (1.0 <= self.leverage <= 125.0, f"leverage must be in [1, 125], got {self.leverage!r}"),
            (
                0.0 <= self.maintenance_margin < 1.0 / self.leverage
                if self.leverage >= 1
                else False,
                f"maintenance_margin must be in [0, 1/leverage), got {self.maintenance_margin!r}",
            ),
            (
                self.interval_ms is None or self.interval_ms > 0,
                f"interval_ms must be positive, got {self.interval_ms!r}",
            ),
        )
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @property
    def fee_rate(self) -> float:
        """fee_bps as a fraction of notional."""
        return self.fee_bps / 10_000.0

    @property
    def slippage_rate(self) -> float:
        """slippage_bps as a fraction of price."""
        return self.slippage_bps / 10_000.0

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (sizing nested); from_dict reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BacktestConfig:
        """Build from a job's JSON (``sizing`` as ``{"mode": ..., "value": ...}``).

        Raises:
            ConfigError: unknown keys or invalid values.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown backtest setting(s): {', '.join(unknown)}")
        values = dict(data)
        sizing = values.get("sizing")
        if isinstance(sizing, dict):
            try:
                values["sizing"] = Sizing(**sizing)
            except TypeError as exc:
                raise ConfigError(f"bad sizing {sizing!r}: {exc}") from exc
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(str(exc)) from exc
