"""Backtest settings are validated at construction."""

from __future__ import annotations

import json

import pytest

from kwont_quant import BacktestConfig, ConfigError, Sizing

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cash": -1}, "cash must be positive"),
        ({"cash": "x"}, "cash must be a number"),
        ({"fee_bps": -0.5}, "fee_bps"),
        ({"leverage": 0.5}, "leverage"),
        ({"leverage": 10, "maintenance_margin": 0.2}, "maintenance_margin"),
        ({"sizing": {"mode": "kelly"}}, "sizing mode"),
        ({"sizing": {"mode": "fraction", "value": 1.5}}, r"fraction sizing must be in \(0, 1\]"),
        ({"colour": "red"}, "unknown backtest setting"),
    ],
)
def test_bad_settings_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BacktestConfig.from_dict(values)


def test_settings_round_trip_through_json() -> None:
    cfg = BacktestConfig(cash=5_000, leverage=3, sizing=Sizing("notional", 2_000))
    assert BacktestConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
