"""The exchange arithmetic: filters parsed from Binance's exchangeInfo format, the one
rounding rule, ``to_decimal`` and the paper fill model (pure functions, no engines)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kwont_common.trading import exchange
from kwont_common.trading.exchange import NO_FILTERS, Rates, SymbolFilters, to_decimal

pytestmark = pytest.mark.unit
TICK = Decimal("0.1")

FUTURES_BTC = [  # GET /fapi/v1/exchangeInfo, one symbol's filters as Binance sends them
    {"filterType": "PRICE_FILTER", "minPrice": "261.10", "maxPrice": "809484", "tickSize": "0.10"},
    {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
    {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001", "maxQty": "120", "minQty": "0.001"},
    {"filterType": "MIN_NOTIONAL", "notional": "100"},
]
SPOT_BTC = [  # GET /api/v3/exchangeInfo
    {
        "filterType": "PRICE_FILTER",
        "minPrice": "0.01",
        "maxPrice": "1000000",
        "tickSize": "0.01000000",
    },
    {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000", "stepSize": "0.00001000"},
    {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True},
]


def test_filters_parse_from_futures_and_spot_exchange_info() -> None:
    futures = SymbolFilters.from_binance(FUTURES_BTC)
    assert futures == SymbolFilters(Decimal("0.1"), Decimal("0.001"), Decimal("0.001"),
                                    Decimal(100))  # fmt: skip
    spot = SymbolFilters.from_binance(SPOT_BTC)
    assert spot == SymbolFilters(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"),
                                 Decimal(5))  # fmt: skip
    assert str(spot.tick_size) == "0.01"  # normalized: no trailing zeros in what we send
    stored = {"filters": {"tick_size": "0.01", "step_size": "0.00001", "min_qty": "0.00001",
                          "min_notional": "5"}}  # fmt: skip
    assert SymbolFilters.from_doc(stored) == spot


def test_a_zero_or_missing_filter_is_no_filter_and_leaves_values_as_they_are() -> None:
    off = [{"filterType": "PRICE_FILTER", "tickSize": "0"}, {"filterType": "LOT_SIZE"}]
    assert SymbolFilters.from_binance(off) == NO_FILTERS == SymbolFilters.from_binance([])
    assert SymbolFilters.from_doc(None) == NO_FILTERS
    assert SymbolFilters.from_doc({"filters": {"tick_size": "0", "step_size": ""}}) == NO_FILTERS
    assert exchange.round_stop(1, Decimal("101.2349"), None) == Decimal("101.2349")
    assert exchange.round_quantity(Decimal("1.23456"), None) == Decimal("1.23456")
    with pytest.raises(ValueError, match="not a finite number"):
        SymbolFilters.from_doc({"filters": {"tick_size": "NaN"}})


def test_quantities_round_down_to_the_step() -> None:
    step = Decimal("0.001")
    assert exchange.round_quantity(Decimal("1.23456"), step) == Decimal("1.234")
    assert exchange.round_quantity(Decimal("1.2349999"), step) == Decimal("1.234")
    assert exchange.round_quantity(Decimal("0.0009"), step) == 0
    assert exchange.round_quantity(Decimal("7"), Decimal(5)) == Decimal(5)


@pytest.mark.parametrize(
    ("side", "stop", "take", "fill"),
    [(1, "101.3", "101.2", "101.3"), (-1, "101.2", "101.3", "101.2")],
    ids=["long", "short"],
)
def test_prices_round_toward_the_entry_and_fills_against_the_taker(
    side: int, stop: str, take: str, fill: str
) -> None:
    price = Decimal("101.23")
    assert exchange.round_stop(side, price, TICK) == Decimal(stop)  # never widens the risk
    assert exchange.round_take_profit(side, price, TICK) == Decimal(take)
    assert exchange.round_fill(side, price, TICK) == Decimal(fill)  # a buy up, a sell down
    on_tick = Decimal("101.2")
    for rounding in (exchange.round_stop, exchange.round_take_profit, exchange.round_fill):
        assert rounding(side, on_tick, TICK) == on_tick  # a multiple stays as it is


def test_protective_levels_anchor_percentages_at_the_fill_else_take_the_absolute() -> None:
    fill = Decimal("42000.3")
    # 42000.3 x 0.98 = 41160.294 -> up; x 1.04 = 43680.312 -> down (a long)
    assert exchange.protective_levels(1, fill, 0.02, 0.04, None, None, TICK) == (
        Decimal("41160.3"), Decimal("43680.3"))  # fmt: skip
    # a short: 42000.3 x 1.02 = 42840.306 -> down; x 0.96 = 40320.288 -> up
    assert exchange.protective_levels(-1, fill, 0.02, 0.04, None, None, TICK) == (
        Decimal("42840.3"), Decimal("40320.3"))  # fmt: skip
    absolute = exchange.protective_levels(1, fill, None, 0.0, Decimal("41000.05"),
                                          Decimal("44000.07"), TICK)  # fmt: skip
    assert absolute == (Decimal("41000.1"), Decimal("44000"))
    assert exchange.protective_levels(1, fill, None, None, None, None, TICK) == (None, None)


def test_to_decimal_goes_through_the_shortest_text_and_refuses_non_finite() -> None:
    assert to_decimal(0.1) == Decimal("0.1") and to_decimal(3) == Decimal(3)
    assert to_decimal(" 42.50 ") == Decimal("42.50")
    assert to_decimal(Decimal("1.5")) == Decimal("1.5")
    for bad in (float("nan"), float("inf"), "-Infinity", "sNaN", "abc", "", True):
        with pytest.raises(ValueError, match="not a"):
            to_decimal(bad)  # type: ignore[arg-type]


def test_the_paper_fill_slips_against_the_taker_and_charges_the_fee_in_quote() -> None:
    rates = Rates.of(0.001, 0.0005)
    assert rates == Rates(Decimal("0.001"), Decimal("0.0005"))
    buy = exchange.market_fill(1, 42000.3, Decimal("0.5"), rates, TICK)
    assert buy.price == Decimal("42021.4")  # 42021.30015 up to the tick
    assert buy.fee == Decimal("0.5") * Decimal("42021.4") * Decimal("0.001")
    sell = exchange.market_fill(-1, 42000.3, Decimal("0.5"), rates, TICK)
    assert sell.price == Decimal("41979.2")  # 41979.29985 down to the tick
    exact = exchange.market_fill(1, "100", Decimal(2), rates, None)
    assert (exact.price, exact.fee) == (Decimal("100.05"), Decimal("0.2001"))
    with pytest.raises(ValueError):
        exchange.market_fill(1, float("nan"), Decimal(1), rates, TICK)
