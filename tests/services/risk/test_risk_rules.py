"""Each entry rule of the risk gate: the entry it lets through and the one it refuses, with
the code and reason; the kill switch and its resets (pure functions, no engines)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from kwont_common.trading.accounts import AccountConfig, RiskLimits
from kwont_common.trading.exchange import NO_FILTERS, SymbolFilters
from kwont_risk.rules import TRIPS, Entry, judge_entry
from kwont_risk.state import DAY_MS, KillSwitch

pytestmark = pytest.mark.unit
T0 = 1_704_067_200_000 + 10 * 3_600_000  # 2024-01-01 10:00 UTC


def entry(**kw: Any) -> Entry:
    """One BTC at 100 on a flat 10,000 account: passes every default limit."""
    base = Entry(
        symbol="BTCUSDT", time=T0, quantity=Decimal(1), price=Decimal(100),
        equity=Decimal(10_000), day_start_equity=Decimal(10_000), peak_equity=Decimal(10_000),
        open_positions=0, kill_switch=KillSwitch(), last_entry=None,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)


def account(**limits: Any) -> AccountConfig:
    leverage = limits.pop("leverage", 1)
    return AccountConfig(account="a", leverage=leverage, limits=RiskLimits(**limits))


def judged(
    e: Entry, acct: AccountConfig, filters: SymbolFilters = NO_FILTERS
) -> tuple[str, str] | None:
    refusal = judge_entry(e, acct, filters)
    return None if refusal is None else (refusal.code, refusal.reason)


def test_max_position_notional() -> None:
    acct = account(max_position_notional=Decimal(500))
    assert judged(entry(quantity=Decimal(5)), acct) is None  # 500: at the limit
    code, reason = judged(entry(quantity=Decimal("5.01")), acct) or ("", "")
    assert code == "max_position_notional"
    assert reason == "notional 501.00 is above the limit 500"


def test_max_leverage() -> None:
    assert judged(entry(), account(leverage=5, max_leverage=5)) is None
    assert judged(entry(), account(leverage=6, max_leverage=5)) == (
        "max_leverage",
        "account leverage 6x is above the limit 5x",
    )


def test_max_open_positions_counts_positions_and_entries_in_flight() -> None:
    acct = account(max_open_positions=2)
    assert judged(entry(open_positions=1), acct) is None
    assert judged(entry(open_positions=2), acct) == (
        "max_open_positions",
        "2 positions open or opening (limit 2)",
    )


def test_max_daily_loss_refuses_and_trips() -> None:
    acct = account(max_daily_loss=0.05)
    assert judged(entry(equity=Decimal(9_500)), acct) is None  # exactly -5%: allowed
    code, reason = judged(entry(equity=Decimal(9_499)), acct) or ("", "")
    assert code == "max_daily_loss" and code in TRIPS
    assert reason.startswith("equity 9499.00 is 5.01% below the day's start 10000.00")


def test_max_drawdown_from_peak_refuses_and_trips() -> None:
    acct = account(max_drawdown=0.10)
    peak = Decimal(12_000)
    assert judged(entry(equity=Decimal(10_800), peak_equity=peak), acct) is None
    code, reason = judged(entry(equity=Decimal(10_700), peak_equity=peak), acct) or ("", "")
    assert code == "max_drawdown" and code in TRIPS
    assert reason.startswith("equity 10700.00 is 10.83% below its peak 12000.00")


def test_cooldown_by_event_time() -> None:
    acct = account(cooldown_s=300)
    assert judged(entry(last_entry=T0 - 300_000), acct) is None
    assert judged(entry(last_entry=T0 - 299_000), acct) == (
        "cooldown",
        "last entry on BTCUSDT was 299s ago (cooldown 300s)",
    )


def test_min_notional_and_min_qty_filters() -> None:
    filters = SymbolFilters.from_doc({"filters": {"min_notional": "100", "min_qty": "0.5"}})
    assert judged(entry(quantity=Decimal(1)), account(), filters) is None
    assert judged(entry(quantity=Decimal("0.99")), account(), filters) == (
        "min_notional",
        "notional 99.00000000 is below the exchange minimum 100",
    )
    assert judged(entry(quantity=Decimal("0.4"), price=Decimal(1000)), account(), filters) == (
        "min_qty",
        "quantity 0.4 is below the minimum 0.5",
    )
    assert judged(entry(quantity=Decimal("0.99")), account()) is None  # no filters: passes


def test_zero_quantity() -> None:
    assert judged(entry(quantity=Decimal(0)), account())[0] == "zero_quantity"  # type: ignore[index]


def test_tripped_kill_switch_blocks_entries_until_the_next_utc_day() -> None:
    switch = KillSwitch(True, "max_daily_loss", "down 6%", T0, T0 // DAY_MS)
    code, reason = judged(entry(kill_switch=switch), account()) or ("", "")
    assert code == "kill_switch"
    assert reason.startswith("kill switch tripped (max_daily_loss): down 6%")
    end_of_day = (T0 // DAY_MS + 1) * DAY_MS - 1
    assert judged(entry(kill_switch=switch, time=end_of_day), account())[0] == "kill_switch"  # type: ignore[index]
    assert judged(entry(kill_switch=switch, time=end_of_day + 1), account()) is None


def test_a_reset_kill_switch_lets_entries_through() -> None:
    assert judged(entry(kill_switch=KillSwitch()), account()) is None


def test_the_kill_switch_is_checked_before_the_limits() -> None:
    switch = KillSwitch(True, "max_drawdown", "down", T0, T0 // DAY_MS)
    acct = account(max_open_positions=1)
    assert judged(entry(kill_switch=switch, open_positions=5), acct)[0] == "kill_switch"  # type: ignore[index]


def test_bracket_leverage_refuses_a_large_notional_and_passes_a_small_one() -> None:
    # BTCUSDT's brackets: up to 500,000 of notional 100x, 500,000 to 8,000,000 50x.
    acct = account(leverage=75, max_leverage=125)
    assert judged(entry(quantity=Decimal(5_000)), acct) is None  # 500,000: the cap at 75x
    assert judged(entry(quantity=Decimal("5000.01")), acct) == (
        "bracket_leverage",
        "leverage 75x is above the 50x BTCUSDT's bracket 3 allows for a notional of "
        "500001.00 (at 75x at most 500000); lower the leverage or the size",
    )
    assert judged(entry(quantity=Decimal(6_000)), account(leverage=50, max_leverage=125)) is None
    code, reason = judged(entry(quantity=Decimal(6_000_000)), acct) or ("", "")
    assert code == "bracket_leverage" and "above BTCUSDT's largest bracket" in reason
    # a symbol without a table is not judged by brackets
    assert judged(entry(symbol="XYZUSDT", quantity=Decimal(6_000)), acct) is None
