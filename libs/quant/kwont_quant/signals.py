"""What a strategy returns: entry/exit signals, stops and a size hint.

A strategy's ``generate`` returns one :class:`Signals` for a whole candle history;
:func:`kwont_quant.seam.compute_signals` checks it and resolves it into the plain
arrays the engine reads (:class:`SignalArrays`). The live path returns a
:class:`BarSignal` for the newest closed candle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from kwont_quant.candles import F64
from kwont_quant.errors import ParameterError

Bools = NDArray[np.bool_]

# Stop kinds as the engine encodes them.
STOP_NONE, STOP_PCT, STOP_DISTANCE = 0, 1, 2


@dataclass(frozen=True, eq=False)
class Stop:
    """A stop-loss or take-profit distance from the entry fill price.

    Build it with :meth:`percent` (``0.02`` = 2 % of the entry price), :meth:`atr`
    (a multiple of the ATR at the signal bar) or :meth:`distance` (an absolute price
    distance per bar, computed by the strategy).
    """

    kind: Literal["pct", "atr", "distance"]
    value: float = 0.0
    atr_period: int = 14
    distances: F64 | None = None

    @classmethod
    def percent(cls, fraction: float) -> Stop:
        """Stop ``fraction`` of the entry price away (0.02 = 2 %).

        Raises:
            ParameterError: ``fraction`` not in (0, 1) for a stop-loss-safe distance.
        """
        if not (0.0 < fraction < 1.0):
            raise ParameterError(f"stop percentage must be in (0, 1), got {fraction!r}")
        return cls("pct", float(fraction))

    @classmethod
    def atr(cls, multiple: float, period: int = 14) -> Stop:
        """Stop ``multiple`` x ATR(``period``) away, ATR read at the signal bar.

        Raises:
            ParameterError: non-positive multiple or period.
        """
        if not (multiple > 0.0) or period < 1:
            raise ParameterError(
                f"ATR stop needs multiple > 0 and period >= 1, got {multiple!r}, {period!r}"
            )
        return cls("atr", float(multiple), int(period))

    @classmethod
    def distance(cls, distances: F64) -> Stop:
        """Stop an absolute price distance away, one value per bar (NaN: no stop)."""
        return cls("distance", distances=np.ascontiguousarray(distances, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class Signals:
    """Boolean signal arrays over the whole history, judged at each bar's close.

    Only ``enter_long`` is required. An order from bar ``i``'s signals fills at bar
    ``i + 1``'s open. ``size`` (scalar or per bar, in (0, 1]) scales the configured
    position size. ``stop_loss`` / ``take_profit`` override the strategy's class
    attributes of the same name.
    """

    enter_long: Bools
    exit_long: Bools | None = None
    enter_short: Bools | None = None
    exit_short: Bools | None = None
    size: F64 | float = 1.0
    stop_loss: Stop | None = None
    take_profit: Stop | None = None


@dataclass(frozen=True, eq=False)
class SignalArrays:
    """Resolved, checked engine inputs: every array has one value per candle; signals
    on bars before ``warmup`` are ignored."""

    enter_long: Bools
    exit_long: Bools
    enter_short: Bools
    exit_short: Bools
    size: F64
    sl_kind: int
    sl_value: F64
    tp_kind: int
    tp_value: F64
    warmup: int = 0


@dataclass(frozen=True)
class BarSignal:
    """The live answer for one closed candle (JSON-able through :meth:`to_dict`).

    ``stop_loss_kind`` / ``take_profit_kind`` are ``"pct"`` (value is a fraction of the
    entry price) or ``"distance"`` (value is a price distance), or ``None``.
    """

    open_time_ms: int
    close: float
    enter_long: bool
    exit_long: bool
    enter_short: bool
    exit_short: bool
    size: float
    stop_loss_kind: str | None
    stop_loss_value: float | None
    take_profit_kind: str | None
    take_profit_value: float | None

    def stop_loss_price(self, entry_price: float, side: Literal["long", "short"]) -> float | None:
        """The stop-loss price for a position entered at ``entry_price``."""
        return _level(self.stop_loss_kind, self.stop_loss_value, entry_price, side, -1.0)

    def take_profit_price(self, entry_price: float, side: Literal["long", "short"]) -> float | None:
        """The take-profit price for a position entered at ``entry_price``."""
        return _level(self.take_profit_kind, self.take_profit_value, entry_price, side, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return asdict(self)


def _level(
    kind: str | None, value: float | None, entry: float, side: str, towards: float
) -> float | None:
    if kind is None or value is None:
        return None
    dist = entry * value if kind == "pct" else value
    sign = 1.0 if side == "long" else -1.0
    return entry + towards * sign * dist
