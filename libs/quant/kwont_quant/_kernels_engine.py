"""The compiled bar loop of the backtest engine. Private: see :mod:`kwont_quant.engine`
for the rules it implements (they are documented there, once)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kwont_quant._jit import jit
from kwont_quant.brackets import liquidation_price
from kwont_quant.candles import F64, I64

Bools = NDArray[np.bool_]

# Exit reasons, in the order of REASONS in engine.py.
SIGNAL, STOP_LOSS, TAKE_PROFIT, LIQUIDATION, END, OPEN = 0, 1, 2, 3, 4, 5
# Trade record columns.
T_SIDE, T_ENTRY_I, T_EXIT_I, T_ENTRY_PX, T_EXIT_PX, T_QTY, T_FEES, T_PNL, T_REASON = range(9)
N_COLS = 9


@jit
def _record(
    trades: F64,
    k: int,
    side: int,
    entry_i: int,
    exit_i: int,
    entry_px: float,
    exit_px: float,
    qty: float,
    fees: float,
    pnl: float,
    why: int,
) -> None:
    t = trades[k]
    t[T_SIDE] = side
    t[T_ENTRY_I] = entry_i
    t[T_EXIT_I] = exit_i
    t[T_ENTRY_PX] = entry_px
    t[T_EXIT_PX] = exit_px
    t[T_QTY] = qty
    t[T_FEES] = fees
    t[T_PNL] = pnl
    t[T_REASON] = why


@jit
def simulate(  # noqa: C901 - the one compiled pass over the bars, a branch per bar event
    o: F64,
    h: F64,
    lo: F64,
    c: F64,
    enter_long: Bools,
    exit_long: Bools,
    enter_short: Bools,
    exit_short: Bools,
    size: F64,
    sl_kind: int,
    sl_value: F64,
    tp_kind: int,
    tp_value: F64,
    cash: float,
    fee: float,
    slip: float,
    sizing_mode: int,
    sizing_value: float,
    leverage: float,
    mmr: float,
    tier_cap: F64,
    tier_mmr: F64,
    tier_cum: F64,
    tier_max_notional: float,
    allow_short: bool,
    start: int,
    close_at_end: bool,
    f_bar: I64,
    f_mark: F64,
    f_rate: F64,
) -> tuple[F64, F64, int, F64]:
    n = c.shape[0]
    nf = f_bar.shape[0]
    equity = np.empty(n)
    # Every trade needs an entry signal on a distinct bar: that bounds the count, so
    # the record array is allocated once (growing it inside the loop costs the
    # optimiser far more than the memory).
    cap = 1
    for i in range(n):
        if enter_long[i] or (allow_short and enter_short[i]):
            cap += 1
    trades = np.empty((cap, N_COLS))
    tfund = np.zeros(cap)  # per trade: the funding it paid (engine.py's funding rule)
    fund = 0.0  # funding paid by the open position so far
    fp = 0  # next funding row (rows are sorted by bar: walked once, a few per day)
    next_f = f_bar[0] if nf > 0 else n  # the bar of that row (n: none left)
    k = 0
    side = 0
    qty = 0.0
    entry_px = 0.0
    entry_fee = 0.0
    entry_i = 0
    sl = np.nan
    tp = np.nan
    liq = 0.0
    bal = cash
    exposed = 0
    broke = False
    for i in range(n):
        if i > start and not broke:
            j = i - 1
            exit_px = 0.0
            # 1. Signal exits (and reversals) at this bar's open.
            if side == 1 and (exit_long[j] or (allow_short and enter_short[j])):
                exit_px = o[i] * (1.0 - slip)
            elif side == -1 and (exit_short[j] or enter_long[j]):
                exit_px = o[i] * (1.0 + slip)
            if exit_px > 0.0:
                xfee = qty * exit_px * fee
                gross = side * qty * (exit_px - entry_px)
                bal += gross - xfee
                _record(
                    trades,
                    k,
                    side,
                    entry_i,
                    i,
                    entry_px,
                    exit_px,
                    qty,
                    entry_fee + xfee,
                    gross - entry_fee - xfee - fund,
                    SIGNAL,
                )
                tfund[k] = fund
                k += 1
                side = 0
            # 2. Entries when flat; opposite entries on one bar cancel out.
            if side == 0:
                want = 1 if (enter_long[j] and not exit_long[j]) else 0
                if allow_short and enter_short[j] and not exit_short[j]:
                    want = -1 if want == 0 else 0
                if want != 0 and bal > 0.0:
                    fill = o[i] * (1.0 + want * slip)
                    # Largest qty whose margin plus entry fee fits the budget.
                    cap = bal * leverage / (fill * (1.0 + fee * leverage))
                    if sizing_mode == 0:
                        q = cap * sizing_value * size[j]
                    else:
                        q = min(sizing_value * size[j] / fill, cap)
                    tiers = tier_cap.shape[0]
                    if tiers > 0:
                        q = min(q, tier_max_notional / fill)
                    if q > 0.0:
                        side = want
                        qty = q
                        entry_px = fill
                        entry_i = i
                        entry_fee = q * fill * fee
                        fund = 0.0
                        bal -= entry_fee
                        sl = np.nan
                        tp = np.nan
                        d = sl_value[j] * fill if sl_kind == 1 else sl_value[j]
                        if sl_kind != 0 and d > 0.0:
                            sl = fill - side * d
                        d = tp_value[j] * fill if tp_kind == 1 else tp_value[j]
                        if tp_kind != 0 and d > 0.0:
                            tp = fill + side * d
                        # Isolated margin: the price at which the loss eats the margin
                        # down to the maintenance margin.
                        if tiers > 0:  # the bracket of the notional (brackets.py)
                            b = 0
                            while b < tiers - 1 and q * fill >= tier_cap[b]:
                                b += 1
                            liq = liquidation_price(
                                side, q, fill, q * fill / leverage, tier_mmr[b], tier_cum[b]
                            )
                        elif side == 1:
                            liq = fill * (1.0 - 1.0 / leverage) / (1.0 - mmr)
                        else:
                            liq = fill * (1.0 + 1.0 / leverage) / (1.0 + mmr)
        # 3. Protective exits inside the bar, the worse outcome first.
        if side != 0 and i > start:
            px = 0.0
            why = SIGNAL
            if side == 1:
                if o[i] <= liq:  # gapped through: the exchange's loss stops at the margin
                    px, why = liq, LIQUIDATION
                elif o[i] <= sl:
                    px, why = o[i] * (1.0 - slip), STOP_LOSS
                elif o[i] >= tp:
                    px, why = o[i], TAKE_PROFIT
                elif lo[i] <= liq and not (lo[i] <= sl and sl > liq):
                    px, why = liq, LIQUIDATION
                elif lo[i] <= sl:
                    px, why = sl * (1.0 - slip), STOP_LOSS
                elif h[i] >= tp:
                    px, why = tp, TAKE_PROFIT
            else:
                if o[i] >= liq:
                    px, why = liq, LIQUIDATION
                elif o[i] >= sl:
                    px, why = o[i] * (1.0 + slip), STOP_LOSS
                elif o[i] <= tp:
                    px, why = o[i], TAKE_PROFIT
                elif h[i] >= liq and not (h[i] >= sl and sl < liq):
                    px, why = liq, LIQUIDATION
                elif h[i] >= sl:
                    px, why = sl * (1.0 + slip), STOP_LOSS
                elif lo[i] <= tp:
                    px, why = tp, TAKE_PROFIT
            if px > 0.0:
                xfee = qty * px * fee
                gross = side * qty * (px - entry_px)
                bal += gross - xfee
                _record(
                    trades,
                    k,
                    side,
                    entry_i,
                    i,
                    entry_px,
                    px,
                    qty,
                    entry_fee + xfee,
                    gross - entry_fee - xfee - fund,
                    why,
                )
                tfund[k] = fund
                k += 1
                side = 0
        # 3b. Funding of the rows in this bar, paid by a position still open after the
        # bar's exits (held at the funding time: entered at or before it, not yet exited).
        if i >= next_f:  # one integer compare a bar; the rows' own loop a few times a day
            while fp < nf and f_bar[fp] <= i:
                if side != 0 and f_bar[fp] == i:
                    paid = side * qty * f_mark[fp] * f_rate[fp]
                    bal -= paid
                    fund += paid
                fp += 1
            next_f = f_bar[fp] if fp < nf else n
        # 4. Mark to market at the close.
        eq = bal
        if side != 0:
            eq += side * qty * (c[i] - entry_px)
            exposed += 1
        equity[i] = eq
        if eq <= 0.0 and not broke:
            broke = True  # bankrupt: nothing more is traded
    if side != 0:
        last = n - 1
        if close_at_end:
            px = c[last] * (1.0 - side * slip)
            xfee = qty * px * fee
            gross = side * qty * (px - entry_px)
            equity[last] = bal + gross - xfee
            why = END
        else:
            px = c[last]
            xfee = 0.0
            gross = side * qty * (px - entry_px)
            why = OPEN
        _record(
            trades,
            k,
            side,
            entry_i,
            last,
            entry_px,
            px,
            qty,
            entry_fee + xfee,
            gross - entry_fee - xfee - fund,
            why,
        )
        tfund[k] = fund
        k += 1
    return equity, trades[:k].copy(), exposed, tfund[:k].copy()
