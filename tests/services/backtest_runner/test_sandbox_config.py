"""The sandbox's reading of a job's engine settings: ``margin_tiers`` reaches the engine."""

from __future__ import annotations

import pytest

from kwont_sandbox.job import backtest_config

pytestmark = pytest.mark.unit


def test_margin_tiers_reach_the_engine_config() -> None:
    assert backtest_config({"interval": "1m"}).margin_tiers is False
    assert backtest_config({"interval": "1m", "margin_tiers": True}).margin_tiers is True
