"""Margin tiers: the bracket table, Binance's isolated liquidation price per bracket, and
the engine liquidating there. Every expected price is Binance's formula written out here,
LP = (WB + cum - side x pos x entry) / (pos x mmr - side x pos), with the bracket's
numbers typed in by hand (not read from the table)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pytest

from kwont_quant import (
    BacktestConfig,
    Candles,
    ConfigError,
    Signals,
    Sizing,
    Strategy,
    run_backtest,
)
from kwont_quant.brackets import DEFAULT_TABLES, default_table, parse_leverage_brackets

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000
HOUR = 3_600_000
ENTRY = 100.0
LEV = 10.0

# (notional, bracket, mmr, cum) of BTCUSDT's brackets 1 to 4, typed from Binance's table.
BTC_CASES = [
    (10_000.0, 1, 0.004, 0.0),
    (100_000.0, 2, 0.005, 50.0),
    (1_000_000.0, 3, 0.01, 2_550.0),
    (10_000_000.0, 4, 0.025, 122_550.0),
]


def by_hand(side: int, notional: float, mmr: float, cum: float) -> float:
    pos = notional / ENTRY
    wb = notional / LEV
    return (wb + cum - side * pos * ENTRY) / (pos * mmr - side * pos)


def test_parses_binance_format_with_strings_and_numbers() -> None:
    payload = {
        "symbol": "XUSDT",
        "brackets": [
            {"bracket": 2, "initialLeverage": 75, "notionalCap": 500000,
             "notionalFloor": 10000, "maintMarginRatio": 0.0065, "cum": 15.0},
            {"bracket": "1", "initialLeverage": "100", "notionalCap": "10000",
             "notionalFloor": "0", "maintMarginRatio": "0.005", "cum": "0.0"},
        ],
    }  # fmt: skip
    table = parse_leverage_brackets(payload)["XUSDT"]
    assert [b.bracket for b in table.brackets] == [1, 2]
    assert table.brackets[1].maint_margin_ratio == Decimal("0.0065")  # no binary error
    assert table.for_notional(Decimal(9_999)).bracket == 1
    assert table.for_notional(Decimal(10_000)).bracket == 2  # the floor is inclusive
    assert table.for_notional(Decimal(500_000)) is None
    assert table.max_leverage(Decimal(20_000)) == 75
    assert table.max_notional(80) == Decimal(10_000)
    assert table.max_notional(101) == 0


def test_rejects_a_gap_between_brackets() -> None:
    rows = [
        {"bracket": 1, "initialLeverage": 20, "notionalFloor": 0, "notionalCap": 10,
         "maintMarginRatio": "0.01", "cum": 0},
        {"bracket": 2, "initialLeverage": 10, "notionalFloor": 11, "notionalCap": 20,
         "maintMarginRatio": "0.02", "cum": 0},
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="starts at 11"):
        parse_leverage_brackets([{"symbol": "X", "brackets": rows}])


@pytest.mark.parametrize("symbol", sorted(DEFAULT_TABLES))
def test_default_tables_keep_the_maintenance_margin_continuous(symbol: str) -> None:
    b = DEFAULT_TABLES[symbol].brackets
    assert b[0].cum == 0
    for prev, cur in itertools.pairwise(b):
        assert cur.cum == prev.cum + cur.notional_floor * (
            cur.maint_margin_ratio - prev.maint_margin_ratio
        )
        edge = cur.notional_floor
        assert prev.maintenance_margin(edge) == cur.maintenance_margin(edge)


@pytest.mark.parametrize(("notional", "bracket", "mmr", "cum"), BTC_CASES)
@pytest.mark.parametrize("side", [1, -1])
def test_liquidation_price_per_bracket(
    side: int, notional: float, bracket: int, mmr: float, cum: float
) -> None:
    table = default_table("BTCUSDT")
    assert table is not None
    assert table.for_notional(Decimal(repr(notional))).bracket == bracket
    got = table.liquidation(side, notional / ENTRY, ENTRY, LEV)
    assert got == pytest.approx(by_hand(side, notional, mmr, cum), rel=1e-12)


def test_bracket_one_is_the_flat_formula() -> None:
    table = default_table("BTCUSDT")
    assert table is not None
    flat_long = ENTRY * (1 - 1 / LEV) / (1 - 0.004)
    assert table.liquidation(1, 100.0, ENTRY, LEV) == pytest.approx(flat_long, rel=1e-12)


class LongOnce(Strategy):
    """Long on bar 0's close: filled at bar 1's open."""

    def generate(self, candles: Candles) -> Signals:
        enter = np.zeros(len(candles), dtype=bool)
        enter[0] = True
        return Signals(enter_long=enter)


def market(low: float) -> Candles:
    bars = [(ENTRY, ENTRY, ENTRY, ENTRY), (ENTRY, 101.0, 99.5, 100.0), (99.5, 99.6, low, low)]
    o, h, lo, c = (np.array(col) for col in zip(*bars, strict=True))
    return Candles.from_arrays(T0 + HOUR * np.arange(3), o, h, lo, c, np.ones(3))


def config(notional: float, tiers: bool = True) -> BacktestConfig:
    return BacktestConfig(
        cash=notional, fee_bps=0, leverage=LEV, sizing=Sizing("notional", notional),
        margin_tiers=tiers,
    )  # fmt: skip


@pytest.mark.parametrize(("notional", "bracket", "mmr", "cum"), BTC_CASES)
def test_engine_liquidates_at_the_bracket_price(
    notional: float, bracket: int, mmr: float, cum: float
) -> None:
    lp = by_hand(1, notional, mmr, cum)
    # A candle whose low crosses the price liquidates there ...
    result = run_backtest(LongOnce, market(lp - 0.01), config(notional), symbol="BTCUSDT")
    (trade,) = result.trades.to_list()
    assert trade["exit_reason"] == "liquidation"
    assert trade["exit_price"] == pytest.approx(lp, rel=1e-12)
    assert trade["qty"] == pytest.approx(notional / ENTRY, rel=1e-12)
    # ... one that stays above it does not.
    result = run_backtest(LongOnce, market(lp + 0.01), config(notional), symbol="BTCUSDT")
    assert result.trades.to_list()[0]["exit_reason"] == "open"


def test_tiers_off_keeps_the_flat_rate() -> None:
    flat = ENTRY * (1 - 1 / LEV) / (1 - 0.004)
    tiered = by_hand(1, 10_000_000.0, 0.025, 122_550.0)
    assert tiered > flat  # bracket 4 liquidates earlier
    result = run_backtest(
        LongOnce, market(tiered - 0.01), config(10_000_000.0, tiers=False), symbol="BTCUSDT"
    )
    assert result.trades.to_list()[0]["exit_reason"] == "open"
    result = run_backtest(
        LongOnce, market(flat - 0.01), config(10_000_000.0, tiers=False), symbol="BTCUSDT"
    )
    (trade,) = result.trades.to_list()
    assert trade["exit_reason"] == "liquidation" and trade["exit_price"] == flat


def test_entry_capped_to_the_notional_the_leverage_allows() -> None:
    # 60x on BTCUSDT: brackets 1 and 2 (125x, 100x) allow it, up to 500,000 of notional.
    cfg = BacktestConfig(
        cash=1e6, fee_bps=0, leverage=60, sizing=Sizing("notional", 2e6), margin_tiers=True
    )
    result = run_backtest(LongOnce, market(99.0), cfg, symbol="BTCUSDT")
    assert result.trades.to_list()[0]["qty"] == pytest.approx(500_000 / ENTRY, rel=1e-12)


def test_tiers_need_a_known_symbol_and_an_allowed_leverage() -> None:
    with pytest.raises(ConfigError, match="margin_tiers needs the symbol"):
        run_backtest(LongOnce, market(90.0), config(1e4))
    data = {"BTCUSDT": market(90.0)}  # a mapping names the symbol
    assert run_backtest(LongOnce, data, config(1e4)).metrics.n_trades == 1
    with pytest.raises(ConfigError, match="no bracket table for 'DOGEUSDT'"):
        run_backtest(LongOnce, market(90.0), config(1e4), symbol="DOGEUSDT")
    cfg = BacktestConfig(leverage=110, maintenance_margin=0.001, margin_tiers=True)
    with pytest.raises(ConfigError, match="at most 100x"):
        run_backtest(LongOnce, market(90.0), cfg, symbol="ETHUSDT")
