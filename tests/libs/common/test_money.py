"""The funding payment, once: ``signed_qty x mark x rate`` on the quote precision."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kwont_common.money import QUOTE, funding_payment, quote

pytestmark = pytest.mark.unit


def test_a_long_pays_a_positive_rate() -> None:
    assert funding_payment(Decimal("0.5"), Decimal("40000"), Decimal("0.0001")) == Decimal("2")


def test_a_short_receives_a_positive_rate_and_pays_a_negative_one() -> None:
    assert funding_payment(Decimal("-0.5"), 40000, "0.0001") == Decimal("-2")
    assert funding_payment(Decimal("-0.5"), 40000, "-0.0001") == Decimal("2")


def test_floats_go_in_by_their_shortest_text_not_their_binary_noise() -> None:
    # 0.1 * 3 * 0.0003 is 0.00009 exactly in decimal; float arithmetic would give noise
    assert funding_payment(0.1, 3.0, 0.0003) == Decimal("0.00009000")


def test_the_payment_is_on_the_quote_precision_half_to_even() -> None:
    paid = funding_payment(Decimal("0.123"), Decimal("2001.17"), Decimal("0.00010013"))
    assert paid == Decimal("0.02464639")  # 0.0246463897083 rounded
    assert paid.as_tuple().exponent == QUOTE.as_tuple().exponent
    assert quote(Decimal("0.000000005")) == Decimal("0")  # half to even: down to 0
    assert quote(Decimal("0.000000015")) == Decimal("0.00000002")
    assert str(quote(Decimal("-0.000000001"))) == "0E-8"  # no negative zero


def test_a_zero_rate_pays_nothing() -> None:
    assert funding_payment(Decimal("3"), Decimal("100"), 0) == 0


@pytest.mark.parametrize("mark", [0, -1, "0"])
def test_a_mark_not_above_zero_is_refused_with_the_fix(mark: object) -> None:
    with pytest.raises(ValueError, match="last candle at or before the funding time"):
        funding_payment(Decimal("1"), mark, Decimal("0.0001"))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", True])
def test_a_value_that_is_not_a_finite_number_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a"):
        funding_payment(bad, Decimal("100"), Decimal("0.0001"))  # type: ignore[arg-type]
