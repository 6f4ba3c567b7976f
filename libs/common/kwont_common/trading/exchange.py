"""Exchange arithmetic, once: symbol filters, the rounding rule, and the paper fill model.

Risk predicts a fill with these functions and the paper venue makes it with the same ones,
so the prediction equals the fill to the last digit; the Binance venue rounds the levels it
sends by the same rule (docs/risk.md, "Exchange arithmetic").

The rounding rule (a ``side`` is +1 long / BUY, -1 short / SELL):

- a quantity is rounded down to the lot step (never more than sized or held);
- a fill price is rounded to the tick against the taker (a buy up, a sell down), after the
  slippage, which is also against the taker: a prediction is never better than the fill;
- a protective level is rounded toward the entry: a long's stop-loss up and a short's down
  (the stop never widens the risk), a long's take-profit down and a short's up (it never
  asks for a larger move than the strategy did). A limit price, once there is one, goes
  the same way as a take-profit: a buy down, a sell up (never pays more than asked).

Without a filter (tick or step unknown, or Binance's 0 that disables the filter) the value
is left as it is: the exchange does not check it either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

Number = Decimal | float | int | str
Rounding = Callable[[int, Decimal, Decimal | None], Decimal]
"""A rounding of a price of ``side`` to a tick: :func:`round_stop` and its siblings."""


def to_decimal(value: Number) -> Decimal:
    """``value`` as a Decimal through its shortest decimal text (a float's ``repr``, so
    0.1 is ``Decimal("0.1")``, not its binary noise).

    Raises:
        ValueError: ``value`` is NaN, infinite, a bool, or text that is not a number.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        number = value
    else:
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _positive(value: Any) -> Decimal | None:
    """A filter value: None when absent, empty or not above zero (0 disables a filter)."""
    if value is None or value == "":
        return None
    number = to_decimal(value)
    if number <= 0:
        return None
    plain = number.normalize()  # "0.10000000" -> 0.1, but "100" stays 100, not 1E+2
    exponent = plain.as_tuple().exponent
    return plain.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else plain


@dataclass(frozen=True)
class SymbolFilters:
    """A symbol's exchange filters; None: no such filter (the value is not constrained)."""

    tick_size: Decimal | None = None
    step_size: Decimal | None = None
    min_qty: Decimal | None = None
    min_notional: Decimal | None = None

    @classmethod
    def from_binance(cls, filters: list[dict[str, Any]]) -> SymbolFilters:
        """From the ``filters`` of one exchangeInfo symbol (spot or futures): PRICE_FILTER
        ``tickSize``, LOT_SIZE ``stepSize`` / ``minQty``, MIN_NOTIONAL ``minNotional`` or
        NOTIONAL / futures MIN_NOTIONAL ``notional``. A tick or step of 0 (Binance: the
        filter is off) or a missing one is None.

        Raises:
            ValueError: a filter value is not a finite number.
        """
        by_type = {f.get("filterType"): f for f in filters}
        price = by_type.get("PRICE_FILTER", {})
        lot = by_type.get("LOT_SIZE", {})
        notional = by_type.get("MIN_NOTIONAL") or by_type.get("NOTIONAL") or {}
        return cls(
            tick_size=_positive(price.get("tickSize")),
            step_size=_positive(lot.get("stepSize")),
            min_qty=_positive(lot.get("minQty")),
            min_notional=_positive(notional.get("minNotional", notional.get("notional"))),
        )

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> SymbolFilters:
        """From a ``symbols`` document (field ``filters``: ``tick_size``, ``step_size``,
        ``min_qty``, ``min_notional`` as marketdata stores them); none without one.

        Raises:
            ValueError: a filter value is not a finite number.
        """
        raw = (doc or {}).get("filters") or {}
        return cls(*(_positive(raw.get(k)) for k in ("tick_size", "step_size", "min_qty",
                                                     "min_notional")))  # fmt: skip


NO_FILTERS = SymbolFilters()


def _to_multiple(value: Decimal, unit: Decimal | None, up: bool) -> Decimal:
    if unit is None:
        return value
    steps = (value / unit).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return steps * unit if steps else Decimal(0)  # the unit's digits: 44000.0 on a 0.1 tick


def round_quantity(quantity: Decimal, step: Decimal | None) -> Decimal:
    """``quantity`` rounded down to a multiple of ``step`` (unchanged without a step)."""
    return _to_multiple(quantity, step, up=False)


def round_fill(side: int, price: Decimal, tick: Decimal | None) -> Decimal:
    """A taker's fill price on the tick, against the taker: a buy up, a sell down."""
    return _to_multiple(price, tick, up=side == 1)


def round_stop(side: int, price: Decimal, tick: Decimal | None) -> Decimal:
    """A stop-loss of a ``side`` position on the tick, toward the entry: a long's up, a
    short's down (never widens the risk)."""
    return _to_multiple(price, tick, up=side == 1)


def round_take_profit(side: int, price: Decimal, tick: Decimal | None) -> Decimal:
    """A take-profit of a ``side`` position on the tick, toward the entry: a long's down,
    a short's up."""
    return _to_multiple(price, tick, up=side != 1)


def protective_levels(
    side: int,
    fill_price: Decimal,
    stop_loss_pct: float | None,
    take_profit_pct: float | None,
    stop_loss: Decimal | None,
    take_profit: Decimal | None,
    tick: Decimal | None,
) -> tuple[Decimal | None, Decimal | None]:
    """The stop-loss and take-profit of a position of ``side`` opened at ``fill_price``: a
    percentage anchored at the fill, else the absolute level; rounded by the rule."""
    sl = fill_price * (1 - side * to_decimal(stop_loss_pct)) if stop_loss_pct else stop_loss
    tp = fill_price * (1 + side * to_decimal(take_profit_pct)) if take_profit_pct else take_profit
    return (
        None if sl is None else round_stop(side, sl, tick),
        None if tp is None else round_take_profit(side, tp, tick),
    )


@dataclass(frozen=True)
class Rates:
    """An account's taker fee and market-order slippage, as fractions (10 bps = 0.001)."""

    fee: Decimal
    slippage: Decimal

    @classmethod
    def of(cls, fee_rate: Number, slippage_rate: Number) -> Rates:
        """Raises: ValueError: a rate is not a finite number."""
        return cls(to_decimal(fee_rate), to_decimal(slippage_rate))


@dataclass(frozen=True)
class Priced:
    """A fill's price and its fee in the quote asset."""

    price: Decimal
    fee: Decimal


def settle(side: int, price: Decimal, quantity: Decimal, rates: Rates,
           tick: Decimal | None) -> Priced:  # fmt: skip
    """A taker fill of ``quantity`` at ``price`` (slippage already in it): the price on the
    tick against the taker, the fee on the notional."""
    px = round_fill(side, price, tick)
    return Priced(px, quantity * px * rates.fee)


def market_fill(side: int, price: Number, quantity: Decimal, rates: Rates,
                tick: Decimal | None) -> Priced:  # fmt: skip
    """The paper fill model of a market order of ``side`` at market ``price``: slippage
    against the taker, then :func:`settle`.

    Raises:
        ValueError: ``price`` is not a finite number.
    """
    slipped = to_decimal(price) * (1 + side * rates.slippage)
    return settle(side, slipped, quantity, rates, tick)
