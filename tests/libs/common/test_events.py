"""Event models: keys, exact money on the wire, validation at construction."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

from kwont_common import events as ev
from kwont_common.testing import candle, sample_events
from kwont_common.topics import TOPICS, all_topic_names, topic, topic_of

pytestmark = pytest.mark.unit


def test_keys_follow_the_design_rules() -> None:
    samples = sample_events()
    assert samples["ticks"].key() == "BTCUSDT"
    assert samples["candles"].key() == "BTCUSDT:1m"
    for name in ("signals", "orders", "fills", "order-updates", "risk-rejections"):
        assert samples[name].key() == "acct-1:ETHUSDT", name
    for name in ("backtest-jobs", "backtest-progress", "backtest-results"):
        assert samples[name].key() == "job-1", name
    assert samples["portfolio-snapshots"].key() == "acct-1"


def test_registry_maps_every_topic_to_its_model_and_back() -> None:
    assert set(TOPICS) == {
        "ticks", "candles", "signals", "orders", "fills", "backtest-jobs", "order-updates",
        "risk-rejections", "backtest-progress", "backtest-results", "portfolio-snapshots",
        "funding", "funding-payments",
    }  # fmt: skip
    for name, t in TOPICS.items():
        assert topic_of(t.model) is t
        assert topic(name) is t


def test_topic_names_take_the_prefix_and_have_dead_letters() -> None:
    names = all_topic_names("prod.")
    assert "prod.candles" in names and "prod.candles.dlq" in names
    assert len(names) == 2 * len(TOPICS)


def test_unknown_topic_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: ticks, candles"):
        topic("candle")


def test_money_is_an_exact_string_on_the_wire() -> None:
    fill = sample_events()["fills"]
    assert isinstance(fill, ev.Fill)
    doc = json.loads(fill.model_dump_json())
    assert doc["price"] == "2001.10" and doc["fee"] == "0.25013750"
    again = ev.Fill.model_validate_json(fill.model_dump_json())
    assert again.fee == Decimal("0.25013750")
    tiny = fill.model_copy(update={"quantity": Decimal("1E-8")})
    assert json.loads(tiny.model_dump_json())["quantity"] == "0.00000001"


def test_money_refuses_nan_and_garbage() -> None:
    doc = json.loads(sample_events()["fills"].model_dump_json())
    for bad in ("NaN", "abc", "Infinity"):
        with pytest.raises(ValidationError):
            ev.Fill.model_validate({**doc, "price": bad})


def test_candle_refuses_inconsistent_prices_and_times() -> None:
    with pytest.raises(ValidationError, match="high is below"):
        candle(high=50.0)
    with pytest.raises(ValidationError, match="close_time must be after"):
        candle(close_time=1_700_000_000_000)
    with pytest.raises(ValidationError):
        candle(symbol="btc/usdt")


def test_readers_ignore_fields_they_do_not_know() -> None:
    doc = json.loads(candle().model_dump_json())
    doc["added_in_a_later_version"] = 1
    assert ev.Candle.model_validate(doc) == candle().model_copy(
        update={"event_id": uuid.UUID(doc["event_id"]), "produced_at": doc["produced_at"]}
    )


def test_events_are_frozen() -> None:
    c = candle()
    with pytest.raises(ValidationError):
        c.close = 1.0  # type: ignore[misc]


def test_backtest_job_refuses_an_empty_range_and_a_shard_without_params() -> None:
    job = sample_events()["backtest-jobs"]
    doc = json.loads(job.model_dump_json())
    with pytest.raises(ValidationError, match="end_time must be after"):
        ev.BacktestJob.model_validate({**doc, "end_time": doc["start_time"]})
    with pytest.raises(ValidationError, match="needs param_sets"):
        ev.BacktestJob.model_validate({**doc, "kind": "optimization_shard"})
