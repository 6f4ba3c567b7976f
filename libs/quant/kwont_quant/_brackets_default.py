"""Default notional brackets of the demo symbols, in Binance's ``GET /fapi/v1/leverageBracket``
format. Data only (parsed by :mod:`kwont_quant.brackets`).

These are a default, written from Binance's published USD-M brackets as we knew them
(BTCUSDT and ETHUSDT, the symbols ``make up`` seeds); the venue changes them from time to
time, so refresh them from the venue (the endpoint above, signed) before trusting a
backtest near the edges of a bracket. Each ``cum`` follows from the ratios:
``cum_n = cum_(n-1) + notionalFloor_n x (mmr_n - mmr_(n-1))`` (tests check it).
"""

from __future__ import annotations

from typing import Any


def _rows(rows: list[tuple[int, int, int, str, int]]) -> list[dict[str, Any]]:
    # (initialLeverage, notionalFloor, notionalCap, maintMarginRatio, cum)
    return [
        {
            "bracket": n,
            "initialLeverage": lev,
            "notionalFloor": floor,
            "notionalCap": cap,
            "maintMarginRatio": mmr,
            "cum": cum,
        }
        for n, (lev, floor, cap, mmr, cum) in enumerate(rows, start=1)
    ]


DEFAULT_PAYLOAD: list[dict[str, Any]] = [
    {
        "symbol": "BTCUSDT",
        "brackets": _rows(
            [
                (125, 0, 50_000, "0.004", 0),
                (100, 50_000, 500_000, "0.005", 50),
                (50, 500_000, 8_000_000, "0.01", 2_550),
                (20, 8_000_000, 50_000_000, "0.025", 122_550),
                (10, 50_000_000, 80_000_000, "0.05", 1_372_550),
                (5, 80_000_000, 100_000_000, "0.1", 5_372_550),
                (4, 100_000_000, 120_000_000, "0.125", 7_872_550),
                (3, 120_000_000, 200_000_000, "0.15", 10_872_550),
                (2, 200_000_000, 300_000_000, "0.25", 30_872_550),
                (1, 300_000_000, 500_000_000, "0.5", 105_872_550),
            ]
        ),
    },
    {
        "symbol": "ETHUSDT",
        "brackets": _rows(
            [
                (100, 0, 50_000, "0.005", 0),
                (75, 50_000, 500_000, "0.0065", 75),
                (50, 500_000, 5_000_000, "0.01", 1_825),
                (20, 5_000_000, 50_000_000, "0.025", 76_825),
                (10, 50_000_000, 100_000_000, "0.05", 1_326_825),
                (5, 100_000_000, 150_000_000, "0.1", 6_326_825),
                (4, 150_000_000, 200_000_000, "0.125", 10_076_825),
                (3, 200_000_000, 300_000_000, "0.15", 15_076_825),
                (2, 300_000_000, 400_000_000, "0.25", 45_076_825),
                (1, 400_000_000, 500_000_000, "0.5", 145_076_825),
            ]
        ),
    },
]
