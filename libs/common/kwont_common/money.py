"""Quote-currency money arithmetic that must be the same everywhere it is done.

Fees and PnL are exact Decimal products of exact inputs (:mod:`kwont_common.trading`); a
funding payment multiplies in a rate that has no natural precision, so it is quantized to
the quote asset's precision (``QUOTE``, 8 decimals: what Binance books a USDT amount to),
half to even. The backtest engine computes the same product in float; the two agree to far
better than a cent (docs/funding.md).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from kwont_common.trading.exchange import Number, to_decimal

QUOTE = Decimal("0.00000001")
"""The precision of a quote-currency (USDT) amount computed here."""


def quote(amount: Decimal) -> Decimal:
    """``amount`` on the quote precision (:data:`QUOTE`), half to even."""
    return amount.quantize(QUOTE, rounding=ROUND_HALF_EVEN) + 0  # + 0: -0 becomes 0


def funding_payment(signed_qty: Number, mark: Number, rate: Number) -> Decimal:
    """What a position of ``signed_qty`` (> 0 long, < 0 short) pays at a funding time of
    ``rate`` and ``mark`` price: ``signed_qty * mark * rate`` on the quote precision.
    Positive: the trader pays (equity falls by it); negative: the trader receives.

    Raises:
        ValueError: an argument is not a finite number, or ``mark`` is not above zero (use
            the close of the last candle at or before the funding time instead).
    """
    qty, price, r = to_decimal(signed_qty), to_decimal(mark), to_decimal(rate)
    if price <= 0:
        raise ValueError(
            f"funding mark price must be above 0, got {mark!r}: use the close of the last "
            "candle at or before the funding time"
        )
    return quote(qty * price * r)
