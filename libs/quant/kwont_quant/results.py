"""Backtest results: trade list, equity curve and metrics, JSON-able via ``to_dict``.

Numbers are float64 as computed (no rounding inside the library); the services turn
them into Decimal strings at their boundary. Times in ``to_dict`` are ISO-8601 UTC.
A trade's entry time is the open time of the bar whose open filled it; its exit time
is the open time of the bar in which it was closed (at that open for a signal exit,
inside it for a stop, take-profit or liquidation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kwont_quant import _kernels_engine as ke
from kwont_quant.candles import F64, I64
from kwont_quant.metrics import Metrics

REASONS = ("signal", "stop_loss", "take_profit", "liquidation", "end_of_data", "open")


def iso_utc(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC (``2024-01-01T00:00:00Z``)."""
    dt = datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    spec = "seconds" if ms % 1000 == 0 else "milliseconds"
    return dt.isoformat(timespec=spec).replace("+00:00", "Z")


@dataclass(frozen=True, eq=False)
class TradeLog:
    """Trades of one symbol as column arrays (cheap to build even for 100k trades)."""

    records: F64  # engine rows: side, entry bar, exit bar, prices, qty, fees, pnl, reason
    open_time_ms: I64
    symbol: str = ""
    paid: F64 | None = None  # per trade: funding paid (None: no funding was applied)

    def __len__(self) -> int:
        return int(self.records.shape[0])

    @property
    def side(self) -> I64:
        """Per trade: 1 long, -1 short."""
        return self.records[:, ke.T_SIDE].astype(np.int64)

    @property
    def entry_bar(self) -> I64:
        """Per trade: the index of the bar whose open filled the entry."""
        return self.records[:, ke.T_ENTRY_I].astype(np.int64)

    @property
    def exit_bar(self) -> I64:
        """Per trade: the index of the bar it exited on."""
        return self.records[:, ke.T_EXIT_I].astype(np.int64)

    @property
    def entry_price(self) -> F64:
        """Per trade: the entry fill price (market fills include slippage)."""
        return self.records[:, ke.T_ENTRY_PX]

    @property
    def exit_price(self) -> F64:
        """Per trade: the exit fill price (market fills include slippage; take-profits none)."""
        return self.records[:, ke.T_EXIT_PX]

    @property
    def qty(self) -> F64:
        """Per trade: the quantity in base units."""
        return self.records[:, ke.T_QTY]

    @property
    def fees(self) -> F64:
        """Per trade: the fees of entry and exit, in quote currency."""
        return self.records[:, ke.T_FEES]

    @property
    def pnl(self) -> F64:
        """Per trade: the profit or loss after fees and funding, in quote currency."""
        return self.records[:, ke.T_PNL]

    @property
    def funding(self) -> F64:
        """Per trade: the funding it paid, in quote currency (negative: received)."""
        return self.paid if self.paid is not None else np.zeros(len(self))

    @property
    def exit_reason(self) -> list[str]:
        """Per trade: why it closed, one of REASONS."""
        return [REASONS[int(r)] for r in self.records[:, ke.T_REASON]]

    def to_list(self) -> list[dict[str, Any]]:
        """One dict per trade: side, entry/exit time and price, qty, fees, funding, pnl
        (net of fees and funding), reason."""
        out = []
        paid = self.funding
        for k, row in enumerate(self.records):
            entry_ms = int(self.open_time_ms[int(row[ke.T_ENTRY_I])])
            exit_ms = int(self.open_time_ms[int(row[ke.T_EXIT_I])])
            item: dict[str, Any] = {
                "side": "long" if row[ke.T_SIDE] > 0 else "short",
                "entry_time": iso_utc(entry_ms),
                "entry_price": float(row[ke.T_ENTRY_PX]),
                "exit_time": iso_utc(exit_ms),
                "exit_price": float(row[ke.T_EXIT_PX]),
                "qty": float(row[ke.T_QTY]),
                "fees": float(row[ke.T_FEES]),
                "pnl": float(row[ke.T_PNL]),
                "exit_reason": REASONS[int(row[ke.T_REASON])],
                "entry_time_ms": entry_ms,
                "exit_time_ms": exit_ms,
            }
            if self.paid is not None:
                item["funding"] = float(paid[k])
            if self.symbol:
                item["symbol"] = self.symbol
            out.append(item)
        return out


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """One symbol's backtest: metrics, trades and the equity marked at every close."""

    symbol: str
    strategy: str
    params: dict[str, Any]
    metrics: Metrics
    trades: TradeLog
    open_time_ms: I64
    equity: F64
    start: int = 0

    @property
    def final_equity(self) -> float:
        """The equity at the last close."""
        return float(self.equity[-1])

    def to_dict(self, equity_curve: bool = True) -> dict[str, Any]:
        """JSON-able result; ``equity_curve=False`` leaves out the long series."""
        out: dict[str, Any] = {
            "symbol": self.symbol,
            "strategy": self.strategy,
            "params": dict(self.params),
            "metrics": self.metrics.to_dict(),
            "trades": self.trades.to_list(),
            "final_equity": self.final_equity,
        }
        if equity_curve:
            out["equity_curve"] = {
                "open_time_ms": self.open_time_ms[self.start :].tolist(),
                "equity": self.equity[self.start :].tolist(),
            }
        return out


@dataclass(frozen=True, eq=False)
class PortfolioResult:
    """A multi-symbol run: each symbol's result plus the combined account."""

    strategy: str
    params: dict[str, Any]
    per_symbol: dict[str, BacktestResult]
    metrics: Metrics
    open_time_ms: I64
    equity: F64

    @property
    def final_equity(self) -> float:
        """The combined equity at the last close."""
        return float(self.equity[-1])

    def to_dict(self, equity_curve: bool = True) -> dict[str, Any]:
        """JSON-able result: combined metrics/trades/equity, then ``symbols``."""
        trades = [t for r in self.per_symbol.values() for t in r.trades.to_list()]
        trades.sort(key=lambda t: (t["entry_time_ms"], t["symbol"]))
        out: dict[str, Any] = {
            "strategy": self.strategy,
            "params": dict(self.params),
            "metrics": self.metrics.to_dict(),
            "trades": trades,
            "final_equity": self.final_equity,
            "symbols": {
                s: r.to_dict(equity_curve=equity_curve) for s, r in self.per_symbol.items()
            },
        }
        if equity_curve:
            out["equity_curve"] = {
                "open_time_ms": self.open_time_ms.tolist(),
                "equity": self.equity.tolist(),
            }
        return out
