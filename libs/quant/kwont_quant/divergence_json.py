"""A divergence :class:`~kwont_quant.divergence.Report` as JSON-ready data.

Money stays exact: every amount is a decimal string (the house rule for money in JSON);
times are epoch milliseconds. ``summary.components_cents`` add up to
``summary.total_gap_cents`` exactly; ``summary.components`` (unrounded) add up to
``summary.total_gap``.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal, localcontext
from typing import Any

from kwont_quant.divergence import EXACT, MatchedTrade, OneSided, Report, Trade

FUNDING_NOTE = "funding is 0 until funding payments are recorded"


def _money(v: Decimal) -> str:
    # normalize() rounds to the context's precision: at the default 28 digits the parts
    # written would no longer add up to the total written
    with localcontext(EXACT):
        return format(v.normalize(), "f") if v else "0"


def _trade(t: Trade) -> dict[str, Any]:
    out = {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in asdict(t).items()}
    out["pnl"] = _money(t.pnl)
    return out


def _matched(m: MatchedTrade) -> dict[str, Any]:
    return {
        "live": _trade(m.live),
        "backtest": _trade(m.backtest),
        "entry_delay_ms": m.entry_delay_ms,
        "exit_delay_ms": m.exit_delay_ms,
        "entry_slippage": _money(m.entry_slippage),
        "exit_slippage": _money(m.exit_slippage),
        "slippage": _money(m.slippage),
        "size": _money(m.size),
        "fees": _money(m.fees),
        "funding": _money(m.funding),
        "pnl_gap": _money(m.pnl_gap),
    }


def _one_sided(o: OneSided) -> dict[str, Any]:
    return {
        "trade": _trade(o.trade),
        "side": o.side,
        "reason": o.reason,
        "detail": o.detail,
        "pnl_gap": _money(o.pnl_gap),
    }


def report_json(report: Report) -> dict[str, Any]:
    """The whole report: ``summary``, ``matched``, ``missed`` and ``extra``."""
    return {
        "summary": {
            "matched": len(report.matched),
            "missed": len(report.missed),
            "extra": len(report.extra),
            "matched_share": _money(report.matched_share.quantize(Decimal("0.0001"))),
            "live_pnl": _money(report.live_pnl),
            "backtest_pnl": _money(report.backtest_pnl),
            "total_gap": _money(report.total_gap),
            "total_gap_cents": _money(report.total_gap.quantize(Decimal("0.01"))),
            "components": {k: _money(v) for k, v in report.components.items()},
            "components_cents": {k: _money(v) for k, v in report.summary_cents().items()},
            "notes": [FUNDING_NOTE],
        },
        "matched": [_matched(m) for m in report.matched],
        "missed": [_one_sided(o) for o in report.missed],
        "extra": [_one_sided(o) for o in report.extra],
    }
