"""The wire rule in the exported schemas: every ``Decimal`` field of a model is a string whose
description says "decimal string", every ``float`` field a number whose description says
"JSON number", and every file names its dialect and a stable ``$id``."""

from __future__ import annotations

import json
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from kwont_common import schemas
from kwont_common.topics import DEAD_LETTER, TOPICS, Topic

pytestmark = pytest.mark.contract

EXPORTED = Path(__file__).resolve().parents[2] / "schemas" / "topics"
ALL = [*TOPICS.values(), DEAD_LETTER]


def _leaves(annotation: Any) -> set[Any]:
    """Every type an annotation is built from (``Decimal | None`` -> {Decimal, NoneType})."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    args, origin = typing.get_args(annotation), typing.get_origin(annotation)
    if not args:
        return {annotation}
    inner = {leaf for arg in args for leaf in _leaves(arg)}
    return inner if origin in (typing.Union, types.UnionType) else inner | {origin}


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every model nested in its fields."""
    found = [model]
    for field in model.model_fields.values():
        for leaf in _leaves(field.annotation):
            if isinstance(leaf, type) and issubclass(leaf, BaseModel) and leaf not in found:
                found += [m for m in _models(leaf) if m not in found]
    return found


def _types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a property allows (through ``anyOf``)."""
    if "anyOf" in prop:
        return {t for alt in prop["anyOf"] for t in _types(alt)}
    return {prop["type"]} if "type" in prop else {"?"}


def _kind(annotation: Any) -> str | None:
    """``decimal`` or ``float`` for a field of that type (optional or not), ``float`` also for
    a mapping of floats (``metrics``); ``other`` for any other use of either; else None."""
    leaves = _leaves(annotation) - {type(None)}
    if leaves == {Decimal}:
        return "decimal"
    if leaves == {float} or (
        typing.get_origin(annotation) is dict
        and _leaves(typing.get_args(annotation)[1]) - {type(None)} == {float}
    ):
        return "float"
    return "other" if {Decimal, float} & leaves else None


def wire_problems(t: Topic, exported: dict[str, Any]) -> list[str]:
    """Fields of a topic's models whose exported schema breaks the wire rule."""
    problems = []
    for model in _models(t.model):
        node = exported if model is t.model else exported["$defs"][model.__name__]
        for name, field in model.model_fields.items():
            kind, prop = _kind(field.annotation), node["properties"][name]
            where = f"{t.name}: {model.__name__}.{name}"
            if kind is None:
                continue
            if kind == "other":
                if Decimal in _leaves(field.annotation):
                    problems.append(f"{where} nests Decimal: extend this check to see inside")
                continue
            values = (
                prop.get("additionalProperties", prop) if "additionalProperties" in prop else prop
            )
            wanted, phrase = (
                ("string", "decimal string") if kind == "decimal" else ("number", "json number")
            )
            if _types(values) - {"null"} != {wanted}:
                problems.append(f"{where} is {kind} but exported as {sorted(_types(values))}")
            if phrase not in str(prop.get("description", "")).lower():
                problems.append(f"{where} is {kind} but its description does not say {phrase!r}")
    return problems


@pytest.mark.parametrize("t", ALL, ids=[t.name for t in ALL])
def test_decimal_fields_are_described_decimal_strings_and_floats_json_numbers(t: Topic) -> None:
    exported = json.loads((EXPORTED / f"{t.name}.json").read_text())
    assert wire_problems(t, exported) == []


def test_the_rule_covers_money_and_market_data() -> None:
    # The walk must actually see the fields the rule is about, nested ones included.
    seen = {
        f"{m.__name__}.{n}"
        for t in ALL
        for m in _models(t.model)
        for n, f in m.model_fields.items()
        if _kind(f.annotation) in ("decimal", "float")
    }
    assert {"Fill.price", "Balance.total", "Position.average_entry", "Candle.close"} <= seen
    assert {"Tick.price", "BacktestJob.cash", "BacktestResult.metrics"} <= seen


def test_the_check_finds_a_decimal_exported_as_a_number() -> None:
    fills = json.loads((EXPORTED / "fills.json").read_text())
    fills["properties"]["price"] = {"type": "number", "description": "Fill price."}
    assert wire_problems(TOPICS["fills"], fills) == [
        "fills: Fill.price is decimal but exported as ['number']",
        "fills: Fill.price is decimal but its description does not say 'decimal string'",
    ]


def test_the_check_finds_a_float_not_described_as_a_json_number() -> None:
    candles = json.loads((EXPORTED / "candles.json").read_text())
    candles["properties"]["close"]["description"] = "Close price."
    assert wire_problems(TOPICS["candles"], candles) == [
        "candles: Candle.close is float but its description does not say 'json number'"
    ]


@pytest.mark.parametrize("t", ALL, ids=[t.name for t in ALL])
def test_every_schema_names_its_dialect_and_a_stable_id(t: Topic) -> None:
    exported = json.loads((EXPORTED / f"{t.name}.json").read_text())
    assert exported["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert exported["$id"] == f"https://kwont.dev/schemas/topics/{t.name}.json"
    jsonschema.Draft202012Validator.check_schema(exported)
    assert jsonschema.validators.validator_for(exported) is jsonschema.Draft202012Validator
    assert schemas.schema_id(t.name) == exported["$id"]
