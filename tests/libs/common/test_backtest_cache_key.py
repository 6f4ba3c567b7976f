"""The backtest cache key: ``margin_tiers`` changes it when on and leaves the keys of jobs
without it as they were (the hash below was computed before the field existed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kwont_common.backtest_cache import content_hash
from kwont_common.events import BacktestJob, StrategyRef

pytestmark = pytest.mark.unit


def job(**kw: object) -> BacktestJob:
    fields: dict[str, object] = {
        "event_time": 1, "source": "test", "job_id": "j1", "owner": "alice",
        "strategy": StrategyRef(name="sma_cross", builtin=True), "params": {"fast": 10},
        "symbols": ["BTCUSDT"], "interval": "1m", "start_time": 0, "end_time": 60_000,
        "cash": Decimal(10_000), "leverage": 10,
    }  # fmt: skip
    return BacktestJob.model_validate(fields | kw)


def test_margin_tiers_off_keeps_the_old_key_and_on_makes_a_new_one() -> None:
    old = "0cdc74b046e2b9c999366b752105141493036af7aaaf2af9243c99c8470f44cc"
    assert content_hash(job(), "2") == old
    assert content_hash(job(margin_tiers=False), "2") == old
    assert content_hash(job(margin_tiers=True), "2") != old


def test_funding_off_keeps_the_old_key_and_on_makes_a_new_one() -> None:
    old = "0cdc74b046e2b9c999366b752105141493036af7aaaf2af9243c99c8470f44cc"
    assert content_hash(job(funding=False), "2") == old
    on = content_hash(job(funding=True), "2")
    assert on != old and on != content_hash(job(margin_tiers=True), "2")
