"""The compiled engine against a slow, plain-Python reference written from the rules
in kwont_quant.engine's docstring (differential testing on random signals)."""

from __future__ import annotations

import numpy as np
import pytest

from kwont_quant import BacktestConfig, Sizing
from kwont_quant.candles import Candles
from kwont_quant.engine import run_engine
from kwont_quant.signals import STOP_DISTANCE, STOP_NONE, STOP_PCT, SignalArrays
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit


def reference(c: Candles, s: SignalArrays, cfg: BacktestConfig, start: int = 0):
    """Returns (trades as tuples, equity list). Deliberately naive and explicit."""
    fee, slip, lev, mmr = cfg.fee_rate, cfg.slippage_rate, cfg.leverage, cfg.maintenance_margin
    shorts = not cfg.long_only
    first = max(start, s.warmup)
    cash = cfg.cash
    pos = None
    trades, equity = [], []

    def close(i, price, reason):
        nonlocal cash, pos
        exit_fee = pos["qty"] * price * fee
        gross = pos["side"] * pos["qty"] * (price - pos["entry"])
        cash += gross - exit_fee
        trades.append(
            (
                pos["side"],
                pos["i"],
                i,
                pos["entry"],
                price,
                pos["qty"],
                pos["fee"] + exit_fee,
                gross - pos["fee"] - exit_fee,
                reason,
            )
        )
        pos = None

    def dist(kind, values, j, fill):
        if kind == STOP_NONE:
            return None
        d = values[j] * fill if kind == STOP_PCT else values[j]
        return d if d > 0 else None  # NaN compares false: no stop

    for i in range(len(c)):
        o, h, lo, cl = c.open[i], c.high[i], c.low[i], c.close[i]
        j = i - 1
        if j >= first and equity[-1] > 0:
            if pos and pos["side"] == 1 and (s.exit_long[j] or (shorts and s.enter_short[j])):
                close(i, o * (1 - slip), 0)
            elif pos and pos["side"] == -1 and (s.exit_short[j] or s.enter_long[j]):
                close(i, o * (1 + slip), 0)
            if pos is None:
                go_long = bool(s.enter_long[j] and not s.exit_long[j])
                go_short = bool(shorts and s.enter_short[j] and not s.exit_short[j])
                if go_long != go_short and cash > 0:
                    side = 1 if go_long else -1
                    fill = o * (1 + side * slip)
                    most = cash * lev / (fill * (1 + fee * lev))
                    if cfg.sizing.mode == "fraction":
                        qty = most * cfg.sizing.value * s.size[j]
                    else:
                        qty = min(cfg.sizing.value * s.size[j] / fill, most)
                    sl_d = dist(s.sl_kind, s.sl_value, j, fill)
                    tp_d = dist(s.tp_kind, s.tp_value, j, fill)
                    liq = (
                        fill * (1 - 1 / lev) / (1 - mmr)
                        if side == 1
                        else fill * (1 + 1 / lev) / (1 + mmr)
                    )
                    pos = {
                        "side": side,
                        "qty": qty,
                        "entry": fill,
                        "i": i,
                        "fee": qty * fill * fee,
                        "liq": liq,
                        "sl": None if sl_d is None else fill - side * sl_d,
                        "tp": None if tp_d is None else fill + side * tp_d,
                    }
                    cash -= pos["fee"]
        if pos and i > first:
            # Walk the pessimistic path open -> adverse extreme -> favourable extreme.
            side, sl, tp, liq = pos["side"], pos["sl"], pos["tp"], pos["liq"]
            worse = (lambda p, lvl: p <= lvl) if side == 1 else (lambda p, lvl: p >= lvl)
            better = (lambda p, lvl: p >= lvl) if side == 1 else (lambda p, lvl: p <= lvl)
            adverse, favourable = (lo, h) if side == 1 else (h, lo)
            if worse(o, liq):
                close(i, liq, 3)
            elif sl is not None and worse(o, sl):
                close(i, o * (1 - side * slip), 1)
            elif tp is not None and better(o, tp):
                close(i, o, 2)
            else:
                stops = [(liq, 3)] + ([(sl, 1)] if sl is not None else [])
                # the first level met while moving against the position
                stops.sort(key=lambda x: -side * x[0])
                hit = next(((lvl, why) for lvl, why in stops if worse(adverse, lvl)), None)
                if hit:
                    lvl, why = hit
                    close(i, lvl if why == 3 else lvl * (1 - side * slip), why)
                elif tp is not None and better(favourable, tp):
                    close(i, tp, 2)
        eq = cash + (pos["side"] * pos["qty"] * (cl - pos["entry"]) if pos else 0.0)
        equity.append(eq)
    if pos:
        p = c.close[-1]
        trades.append(
            (
                pos["side"],
                pos["i"],
                len(c) - 1,
                pos["entry"],
                p,
                pos["qty"],
                pos["fee"],
                pos["side"] * pos["qty"] * (p - pos["entry"]) - pos["fee"],
                5,
            )
        )
    return trades, equity


def random_signals(n: int, seed: int, sl_kind: int, tp_kind: int, warmup: int) -> SignalArrays:
    rng = np.random.default_rng(seed)
    flags = [rng.random(n) < 0.06 for _ in range(4)]
    size = rng.uniform(0.2, 1.0, n)
    sl_val = rng.uniform(0.002, 0.03, n) if sl_kind == STOP_PCT else rng.uniform(0.2, 3.0, n)
    tp_val = rng.uniform(0.002, 0.03, n) if tp_kind == STOP_PCT else rng.uniform(0.2, 3.0, n)
    sl_val[rng.random(n) < 0.1] = np.nan
    return SignalArrays(*flags, size, sl_kind, sl_val, tp_kind, tp_val, warmup)


CASES = [
    (BacktestConfig(), STOP_NONE, STOP_NONE, 0),
    (BacktestConfig(long_only=True, fee_bps=5), STOP_PCT, STOP_PCT, 0),
    (BacktestConfig(slippage_bps=7, sizing=Sizing("fraction", 0.5)), STOP_PCT, STOP_DISTANCE, 3),
    (BacktestConfig(leverage=20, fee_bps=4), STOP_NONE, STOP_PCT, 0),
    (BacktestConfig(leverage=5, slippage_bps=3), STOP_DISTANCE, STOP_PCT, 10),
    (BacktestConfig(sizing=Sizing("notional", 4_000), leverage=3), STOP_PCT, STOP_NONE, 0),
    (BacktestConfig(leverage=1, maintenance_margin=0.0), STOP_NONE, STOP_NONE, 0),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [1, 2])
def test_engine_matches_reference(case: int, seed: int) -> None:
    cfg, sl_kind, tp_kind, start = CASES[case]
    # 2 % per-bar volatility, so stops, take-profits and liquidations all happen
    candles = gbm_ohlcv(1500, seed=seed, annual_vol=0.02 * np.sqrt(365.25 * 1440))
    sig = random_signals(len(candles), seed + 100 * case, sl_kind, tp_kind, warmup=5)
    result = run_engine(candles, sig, cfg, start=start)
    ref_trades, ref_equity = reference(candles, sig, cfg, start)
    got = result.trades.records
    assert got.shape[0] == len(ref_trades) > 10
    np.testing.assert_allclose(got, np.array(ref_trades), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(result.equity, ref_equity, rtol=1e-12)
    reasons = set(result.trades.exit_reason)
    assert "signal" in reasons
    if sl_kind != STOP_NONE:
        assert "stop_loss" in reasons
    if cfg.leverage >= 20:
        assert "liquidation" in reasons


def test_reruns_are_bit_identical() -> None:
    candles = gbm_ohlcv(5000, seed=3)
    sig = random_signals(len(candles), 3, STOP_PCT, STOP_PCT, 0)
    a = run_engine(candles, sig, BacktestConfig(slippage_bps=2))
    b = run_engine(candles, sig, BacktestConfig(slippage_bps=2))
    assert a.trades.records.tobytes() == b.trades.records.tobytes()
    assert a.equity.tobytes() == b.equity.tobytes()
    assert a.metrics == b.metrics
