"""Divergence report: alignment and attribution over real engine trade lists."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from kwont_quant import BacktestConfig, run_backtest
from kwont_quant.divergence import EXACT, Event, Trade, divergence, round_to_total
from kwont_quant.divergence_trades import FillRow, from_backtest, rejection_events, round_trips
from kwont_quant.synthetic import gbm_ohlcv

D = Decimal


def _backtest(slippage_bps: float = 0.0) -> list[Trade]:
    result = run_backtest(
        "sma_cross",
        gbm_ohlcv(3000, seed=7),
        BacktestConfig(fee_bps=10, slippage_bps=slippage_bps),
        params={"fast": 10, "slow": 30},
        symbol="BTCUSDT",
    )
    rows = result.trades.to_list()
    trades = from_backtest(rows)
    # our pnl (from prices, quantity and fees) is the engine's, up to float rounding
    for t, row in zip(trades, rows, strict=True):
        assert float(t.pnl) == pytest.approx(row["pnl"], rel=1e-9, abs=1e-9)
    assert len(trades) > 10, "the fixture must trade enough to be meaningful"
    return trades


def _fills(trades: list[Trade], slip: Decimal = Decimal(0)) -> list[FillRow]:
    """The fills a venue would have recorded for ``trades``, each price ``slip`` worse."""
    rows = []
    for t in trades:
        opening = "buy" if t.side == "long" else "sell"
        closing = "sell" if t.side == "long" else "buy"
        with localcontext(EXACT):
            entry_fee, exit_fee = t.fees / 2, t.fees - t.fees / 2
        d = t.direction
        rows.append(
            FillRow(t.symbol, t.entry_time_ms, opening, t.qty, t.entry_price + d * slip, entry_fee)
        )
        rows.append(
            FillRow(t.symbol, t.exit_time_ms, closing, t.qty, t.exit_price - d * slip, exit_fee)
        )
    return rows


def test_identical_replay_is_fully_matched_with_no_gap() -> None:
    bt = _backtest()
    live = round_trips(_fills(bt))
    report = divergence(live, bt)
    assert report.matched_share == 1
    assert report.total_gap == 0
    assert all(v == 0 for v in report.components.values())
    assert all(m.entry_delay_ms == 0 and m.exit_delay_ms == 0 for m in report.matched)


def test_slippage_and_one_rejection_are_attributed_to_the_cent() -> None:
    bt = _backtest()
    slip = D("0.05")
    dropped = bt[5]
    live_trades = [t for t in bt if t is not dropped]
    live = round_trips(_fills(live_trades, slip))
    events = rejection_events(
        [
            {
                "time_ms": dropped.entry_time_ms,
                "symbol": "BTCUSDT",
                "code": "max_position_notional",
                "reason": "notional 12000 over the 10000 limit",
            }
        ]
    )
    report = divergence(live, bt, events)

    assert len(report.matched) == len(bt) - 1
    assert [(o.trade, o.reason) for o in report.missed] == [(dropped, "risk_rejection")]
    assert "max_position_notional" in report.missed[0].detail
    assert report.extra == []
    with localcontext(EXACT):
        expected_slippage = -sum((2 * slip * t.qty for t in live_trades), D(0))
        component_sum = sum(report.components.values(), D(0))
        missed_pnl = -dropped.pnl
    assert report.components["slippage"] == expected_slippage
    assert report.components["missed"] == missed_pnl
    for name in ("size", "fees", "funding", "extra"):
        assert report.components[name] == 0, name
    assert component_sum == report.total_gap
    cents = report.summary_cents()
    assert sum(cents.values(), D(0)) == report.total_gap.quantize(D("0.01"))
    assert report.matched_share == D(len(bt) - 1) / len(bt)


def test_engine_slippage_splits_into_price_size_and_fees_that_add_up() -> None:
    bt, slipped = _backtest(), _backtest(slippage_bps=5)
    report = divergence(slipped, bt)
    assert report.matched_share == 1
    assert report.components["slippage"] < 0
    assert report.components["fees"] != 0  # fees follow the traded notional
    with localcontext(EXACT):
        assert sum(report.components.values(), D(0)) == report.total_gap
        per_trade = sum((m.pnl_gap for m in report.matched), D(0))
    assert per_trade == report.total_gap


def test_late_entry_matches_within_tolerance_and_not_beyond() -> None:
    t = Trade("BTCUSDT", "long", 0, 600_000, D(100), D(110), D(1), D("0.2"))
    late = Trade("BTCUSDT", "long", 60_000, 660_000, D(101), D(110), D(1), D("0.2"))
    report = divergence([late], [t], tolerance_ms=60_000)
    assert len(report.matched) == 1
    assert report.matched[0].entry_delay_ms == 60_000
    assert report.matched[0].entry_slippage == 1
    assert report.total_gap == D(-1)
    restart = [Event(30_000, "restart", "strategy pod restarted")]
    apart = divergence([late], [t], restart, tolerance_ms=59_999)
    assert apart.matched == []
    assert apart.missed[0].reason == "restart"
    assert apart.extra[0].reason == "restart"
    assert apart.components["missed"] + apart.components["extra"] == apart.total_gap


def test_kill_switch_explains_missed_trades_until_reset() -> None:
    a = Trade("ETHUSDT", "short", 1_000_000, 2_000_000, D(50), D(45), D(2))
    b = Trade("ETHUSDT", "short", 9_000_000, 9_500_000, D(50), D(45), D(2))
    events = [
        Event(500_000, "kill_switch", "daily loss limit"),
        Event(5_000_000, "kill_switch_reset"),
    ]
    report = divergence([], [a, b], events)
    assert [o.reason for o in report.missed] == ["kill_switch", "unknown"]
    assert report.matched_share == 0
    assert report.total_gap == -(a.pnl + b.pnl) == D(-20)


def test_flipping_fill_closes_one_trade_and_opens_the_next() -> None:
    fills = [
        FillRow("BTCUSDT", 0, "buy", D(1), D(100), D("0.1")),
        FillRow("BTCUSDT", 60_000, "sell", D(2), D(110), D("0.2")),
        FillRow("BTCUSDT", 120_000, "buy", D(1), D(105), D("0.1")),
    ]
    long_, short = round_trips(fills)
    assert (long_.side, long_.pnl) == ("long", D(10) - D("0.2"))
    assert (short.side, short.entry_time_ms, short.pnl) == ("short", 60_000, D(5) - D("0.2"))


def test_rounding_keeps_the_total() -> None:
    parts = {"slippage": D("0.333"), "fees": D("0.333"), "missed": D("0.334")}
    cents = round_to_total(parts, sum(parts.values(), D(0)))
    assert sum(cents.values(), D(0)) == D("1.00")


def test_bad_trade_is_refused() -> None:
    with pytest.raises(ValueError, match="side"):
        Trade("BTCUSDT", "up", 0, 1, D(1), D(1), D(1))
    with pytest.raises(ValueError, match="tolerance_ms"):
        divergence([], [], tolerance_ms=-1)


def test_json_keeps_money_exact_and_cents_add_up() -> None:
    from kwont_quant.divergence_json import report_json

    a = Trade("BTCUSDT", "long", 0, 60_000, D("100.005"), D("101"), D("0.3"), D("0.061"))
    b = Trade("BTCUSDT", "long", 0, 60_000, D("100"), D("101"), D("0.3"), D("0.06"))
    c = Trade("BTCUSDT", "long", 900_000, 960_000, D("100"), D("99"), D("0.3"), D("0.06"))
    data = report_json(divergence([a], [b, c]))
    s = data["summary"]
    assert s["total_gap"] == str(a.pnl - b.pnl - c.pnl)
    assert s["components"]["slippage"] == "-0.0015"
    assert s["components"]["fees"] == "-0.001"
    cents = sum(D(v) for v in s["components_cents"].values())
    assert cents == D(s["total_gap_cents"])
    assert data["missed"][0]["reason"] == "unknown"
    assert s["matched_share"] == "0.5"


def test_json_parts_add_up_to_the_json_total_with_float_derived_prices() -> None:
    from kwont_quant.divergence_json import report_json

    bt = _backtest()
    report = divergence(round_trips(_fills(bt[1:], D("0.0123456789"))), _backtest(5.0))
    s = report_json(report)["summary"]
    # beyond 28 significant digits: written at the default precision they would not add up
    assert any(len(v.replace("-", "").replace(".", "")) > 28 for v in s["components"].values())
    with localcontext(EXACT):
        assert sum(D(v) for v in s["components"].values()) == D(s["total_gap"])
