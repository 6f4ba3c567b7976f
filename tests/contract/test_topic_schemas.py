"""Topic contracts: the exported JSON Schemas match the models, stay backward compatible with
the committed snapshots, and every model round-trips through JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from kwont_common import schemas
from kwont_common.testing import sample_events
from kwont_common.topics import DEAD_LETTER, TOPICS, topic

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
EXPORTED = ROOT / "schemas" / "topics"
SNAPSHOTS = Path(__file__).parent / "snapshots"
ALL = [*TOPICS, DEAD_LETTER.name]


def load(directory: Path, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((directory / f"{name}.json").read_text())


def test_exported_schemas_match_the_models() -> None:
    assert schemas.drift(EXPORTED) == []


@pytest.mark.parametrize("name", ALL)
def test_schema_is_backward_compatible_with_snapshot(name: str) -> None:
    problems = schemas.compatibility_problems(load(SNAPSHOTS, name), load(EXPORTED, name))
    assert problems == [], f"{name}: {problems} (bump schema_version for a breaking change)"


@pytest.mark.parametrize("name", list(TOPICS))
def test_every_model_round_trips_and_validates(name: str) -> None:
    event = sample_events()[name]
    wire = event.model_dump_json()
    again = topic(name).model.model_validate_json(wire)
    assert again == event
    assert again.model_dump_json() == wire
    jsonschema.validate(json.loads(wire), load(EXPORTED, name))


def test_every_topic_has_a_snapshot() -> None:
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.json")) == sorted(ALL)


# The checker itself must be able to say no: mutate a real schema each forbidden way.
def _candles() -> dict:  # type: ignore[type-arg]
    return load(EXPORTED, "candles")


def test_checker_accepts_a_new_optional_field() -> None:
    new = _candles()
    new["properties"]["vwap"] = {"type": "number"}
    assert schemas.compatibility_problems(_candles(), new) == []


def test_checker_refuses_a_removed_field() -> None:
    new = _candles()
    del new["properties"]["trades"]
    assert schemas.compatibility_problems(_candles(), new) == ["candles.trades: removed"]


def test_checker_refuses_a_retyped_field() -> None:
    new = _candles()
    new["properties"]["trades"] = {"type": "string"}
    assert schemas.compatibility_problems(_candles(), new) == ["candles.trades: retyped"]


def test_checker_refuses_a_newly_required_field() -> None:
    new = _candles()
    new["properties"]["vwap"] = {"type": "number"}
    new["required"] = [*new["required"], "vwap"]
    assert schemas.compatibility_problems(_candles(), new) == ["candles.vwap: now required"]


def test_checker_sees_inside_nested_models() -> None:
    old = load(EXPORTED, "portfolio-snapshots")
    new = copy.deepcopy(old)
    del new["$defs"]["Position"]["properties"]["average_entry"]
    assert schemas.compatibility_problems(old, new) == [
        "portfolio-snapshots.positions.items.average_entry: removed"
    ]


def test_checker_allows_enum_growth_but_not_loss() -> None:
    old = _candles()
    grown = copy.deepcopy(old)
    grown["properties"]["feed"]["enum"].append("coinbase")
    assert schemas.compatibility_problems(old, grown) == []
    assert schemas.compatibility_problems(grown, old) == ["candles.feed: enum lost ['coinbase']"]


def test_checker_refuses_a_changed_id_or_dialect() -> None:
    new = _candles()
    new["$id"] = "urn:kwont:candles"
    del new["$schema"]
    assert schemas.compatibility_problems(_candles(), new) == [
        "$schema: changed from 'https://json-schema.org/draft/2020-12/schema' to None",
        "$id: changed from 'https://kwont.dev/schemas/topics/candles.json' to 'urn:kwont:candles'",
    ]
