"""Perpetual funding on the paper venue and in the portfolio, on the real broker and
MongoDB: execution and portfolio in-process on one topic prefix. A long and a short held
across three funding times pay exactly ``signed_qty x mark x rate`` of each (worked out here
by hand from the rows), the same in execution's paper position and in portfolio's figures;
the short receives; a redelivered funding event pays once; the long, closed exactly at the
third funding time, does not pay that one. The backtest engine, run on the same rows with
the same positions, pays the same to the cent: the three sides agree."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from kwont_common.events import Fill, FundingPaid, FundingRate
from kwont_common.testing import read_topic, serving
from kwont_common.trading import ids
from kwont_execution.settings import ExecutionSettings
from kwont_portfolio.main import setup as portfolio_setup
from kwont_portfolio.settings import PortfolioSettings
from kwont_quant import BacktestConfig, FundingRates
from kwont_quant.config import Sizing
from kwont_quant.engine import run_engine
from kwont_quant.signals import STOP_NONE, SignalArrays
from kwont_quant.synthetic import gbm_ohlcv
from tests.services.execution import test_execution_paper as paper_tests
from tests.services.execution.test_execution_paper import (
    MIN,
    T0,
    dec,
    entry,
    positions,
    prepare,
    running,
    send,
    until,
)
from tests.services.portfolio.conftest import make_settings as portfolio_settings

pytestmark = pytest.mark.integration
settings, db = paper_tests.settings, paper_tests.db  # the execution tests' fixtures
H1 = 60 * MIN
H8 = 8 * H1
F1 = T0 - T0 % H8 + H8  # the first funding time after the entries (T0 is 10:00 UTC)
ROWS = [  # (funding time, rate, mark price): what marketdata publishes from ohlcv.funding
    (F1, 0.0001, 101.25),
    (F1 + H8, 0.00025, 99.8),
    (F1 + 2 * H8, -0.00005, 100.4),
]
QTY = Decimal("0.5")
CENT = Decimal("0.01")
TINY = Decimal("1e-9")


def funding(t: int, rate: float, mark: float, event_id: Any = None) -> FundingRate:
    return FundingRate(
        event_id=event_id or ids.event_id("funding", "synthetic", "BTCUSDT", t),
        event_time=t, source="test", symbol="BTCUSDT", funding_time=t, rate=rate,
        mark_price=mark,
    )  # fmt: skip


def by_hand(signed_qty: Decimal, rows: list[tuple[int, float, float]]) -> Decimal:
    """The sum of signed_qty x mark x rate over ``rows``, in plain Decimal."""
    return sum((signed_qty * dec(m) * dec(r) for _, r, m in rows), Decimal(0))


def engine_paid(side: str, exit_at: int | None) -> Decimal:
    """What the backtest engine charges a position of QTY on ROWS: hourly candles from T0, in
    at the second bar's open (before the first funding time), out at ``exit_at``'s open (or
    open at the end, two hours after the last funding time)."""
    c = gbm_ohlcv(int((ROWS[-1][0] - T0) // H1) + 3, seed=3, start_ms=T0, interval_ms=H1)
    n = len(c)
    enter, leave = (np.zeros(n, dtype=np.bool_) for _ in range(2))
    enter[0] = True  # judged at bar 0's close: fills at bar 1's open
    if exit_at is not None:
        leave[int(np.searchsorted(c.open_time_ms, exit_at)) - 1] = True
    none = np.zeros(n, dtype=np.bool_)
    el, xl, es, xs = (enter, leave, none, none) if side == "LONG" else (none, none, enter, leave)
    nan = np.full(n, np.nan)
    sig = SignalArrays(el, xl, es, xs, np.ones(n), STOP_NONE, nan, STOP_NONE, nan)
    notional = float(QTY) * float(c.open[1])
    cfg = BacktestConfig(sizing=Sizing("notional", notional))
    times, rates, marks = zip(*ROWS, strict=True)
    rows = FundingRates.of(list(times), list(rates), list(marks))
    (paid,) = run_engine(c, sig, cfg, funding=rows).trades.funding
    return Decimal(float(paid))


async def payments(config: ExecutionSettings, count: int) -> list[FundingPaid]:
    topic = f"{config.topic_prefix}funding-payments"
    raw = await read_topic(config.kafka_bootstrap_servers, topic, count, settle=1.0)
    return [FundingPaid.model_validate_json(v) for v in raw]


async def test_paper_positions_pay_funding_once_and_portfolio_books_it_to_the_cent(
    settings: ExecutionSettings, db: Any
) -> None:
    await prepare(settings, db, "acct-1")
    await prepare(settings, db, "acct-2")
    folio: PortfolioSettings = portfolio_settings(
        settings.kafka_bootstrap_servers, settings.mongo_uri, settings.mongo_database,
        topic_prefix=settings.topic_prefix,
    )  # fmt: skip
    long_ = entry("BUY", account="acct-1")
    short = entry("SELL", t=T0 + MIN, account="acct-2")  # another signal: another order id
    f1, f2, f3 = (funding(*row) for row in ROWS)
    exit_at = ROWS[2][0]  # the long closes exactly at the third funding time
    close = entry(
        "SELL", account="acct-1", reduce_only=True, event_time=exit_at,
        candle_open_time=exit_at - MIN, stop_loss_pct=None, take_profit_pct=None,
    )  # fmt: skip
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(running(settings))
        await stack.enter_async_context(serving(folio, portfolio_setup))
        await send(settings, long_, short)
        await until(lambda: _count(db, 2), 30)
        # f1 redelivered (same id) and published again (another id): one payment each
        await send(settings, f1, f1, funding(*ROWS[0], event_id=ids.event_id("again")), f2)
        await payments(settings, 4)
        await send(settings, close)
        await until(lambda: db.fills.find_one({"client_order_id": close.client_order_id}))
        await send(settings, f3, f2)
        paid = await payments(settings, 5)
        open_ = await until(lambda: _funded(db, settings, "acct-2:BTCUSDT", exit_at))
        folios = await until(lambda: _portfolios(db, exit_at))

    # one payment per position and funding time; none for the long at its exit time
    assert sorted((p.account, p.funding_time) for p in paid) == sorted(
        [("acct-1", ROWS[0][0]), ("acct-1", ROWS[1][0])] + [("acct-2", t) for t, _, _ in ROWS]
    )
    long_paid = by_hand(QTY, ROWS[:2])
    short_paid = by_hand(-QTY, ROWS)
    assert long_paid > 0 and short_paid < 0  # rates mostly positive: the short receives
    for account, want in (("acct-1", long_paid), ("acct-2", short_paid)):
        mine = [p for p in paid if p.account == account]
        got = sum((p.paid for p in mine), Decimal(0))
        assert got.quantize(CENT) == want.quantize(CENT)
        assert got == want  # these rows are exact on 8 decimals
        assert max(mine, key=lambda p: p.funding_time).position_funding == got
        assert all(p.side == ("LONG" if account == "acct-1" else "SHORT") for p in mine)
    # execution's paper position (the short, still open) carries its total
    assert Decimal(open_["funding"]) == short_paid
    # portfolio: its own line per position and in the totals, off the cash, not in the PnL
    one, two = folios["acct-1"], folios["acct-2"]
    assert Decimal(one["funding_paid"]) == long_paid and one["positions"] == []
    assert Decimal(two["funding_paid"]) == short_paid
    (pos,) = two["positions"]
    assert Decimal(pos["funding"]) == short_paid and Decimal(pos["realized_pnl"]) == 0
    fills = [Fill.model_validate(_without_id(f)) async for f in db.fills.find()]
    fees = {a: sum((f.fee for f in fills if f.account == a), Decimal(0)) for a in folios}
    realized = Decimal(one["realized_pnl"])
    cash = Decimal(10_000)  # the account settings' default starting cash
    assert Decimal(one["balances"][0]["total"]) == cash + realized - fees["acct-1"] - long_paid
    assert Decimal(two["balances"][0]["total"]) == cash - fees["acct-2"] - short_paid
    # the backtest engine on the same rows, long and short: the same to the cent, and (these
    # sums being cents themselves, so that the cent alone could not tell) to 1e-9, the
    # float's error; the long held past its exit would have paid the third time too
    for side, exit_time, want in (("LONG", exit_at, long_paid), ("SHORT", None, short_paid)):
        engine = engine_paid(side, exit_time)
        assert engine.quantize(CENT) == want.quantize(CENT) and abs(engine - want) < TINY, side
    assert abs(engine_paid("LONG", None) - long_paid) > TINY


async def _count(store: Any, n: int) -> bool:
    return bool(await store.fills.count_documents({}) >= n)


async def _funded(db: Any, settings: ExecutionSettings, key: str, t: int) -> dict[str, Any] | None:
    """The open paper position ``key`` in the snapshots once it has paid funding time ``t``."""
    held = (await positions(db, settings)).get(key)
    return held if held is not None and held.get("funded_through") == t else None


async def _portfolios(store: Any, t: int) -> dict[str, dict[str, Any]] | None:
    docs = {d["_id"]: d async for d in store.portfolios.find()}
    done = docs.get("acct-2", {}).get("event_time", 0) >= t and "acct-1" in docs
    return docs if done else None


def _without_id(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_id"}
