"""JSON Schema of every topic, exported into the repository for consumers outside Python, and
the backward-compatibility rule the contract tests hold them to.

``kwont-schemas export [DIR]`` writes one file per topic (plus ``dead-letter.json``);
``kwont-schemas check [DIR]`` exits 1 when the files on disk drift from the models. Every
file declares its dialect (``$schema``: JSON Schema draft 2020-12) and a stable ``$id``
(``https://kwont.dev/schemas/topics/<topic>.json``); descriptions say which fields are
decimal strings and which JSON numbers (``kwont_common.events.fields``).
``kwont-schemas docs [FILE]`` regenerates the topic table of docs/contract.md;
``kwont-schemas docs-check [FILE]`` exits 1 when that table is stale (kwont_common.topics_doc).

Compatibility (within a ``schema_version``): a field may be added if optional, an enum may
gain values; a field may never be removed, retyped or become required.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kwont_common.topics import DEAD_LETTER, TOPICS, Topic
from kwont_common.topics_doc import DEFAULT_DOC, stale, write

DEFAULT_DIR = Path("schemas/topics")
DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect of every exported file (what pydantic generates)."""
_NOISE = {"title", "description", "default", "examples"}


def schema_id(topic_name: str) -> str:
    """The stable ``$id`` of a topic's schema: its URL, named after the topic."""
    return f"https://kwont.dev/schemas/topics/{topic_name}.json"


def topic_schema(t: Topic) -> dict[str, Any]:
    """The JSON Schema of a topic's messages as they appear on the wire."""
    schema = t.model.model_json_schema(mode="serialization")
    schema["$schema"] = DIALECT
    schema["$id"] = schema_id(t.name)
    schema["x-kwont-topic"] = t.name
    schema["x-kwont-key"] = t.key_rule
    return schema


def rendered() -> dict[str, str]:
    """File name -> file content for every topic schema."""
    out = {}
    for t in [*TOPICS.values(), DEAD_LETTER]:
        out[f"{t.name}.json"] = json.dumps(topic_schema(t), indent=2, sort_keys=True) + "\n"
    return out


def export(directory: Path) -> list[Path]:
    """Write every topic schema into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def drift(directory: Path) -> list[str]:
    """File names in ``directory`` that are missing or differ from the models."""
    problems = []
    for name, text in rendered().items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text() != text:
            problems.append(f"{name}: differs from the model")
    return problems


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline ``$ref``s and drop prose, so two schemas compare by structure only."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _resolve(v, defs) for k, v in node.items() if k not in _NOISE | {"$defs"}}
    if isinstance(node, list):
        return [_resolve(v, defs) for v in node]
    return node


def _compare(old: Any, new: Any, path: str, problems: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict) and "properties" in old:
        if "properties" not in new:
            problems.append(f"{path}: is no longer an object")
            return
        for field, old_sub in old["properties"].items():
            if field not in new["properties"]:
                problems.append(f"{path}.{field}: removed")
            else:
                _compare(old_sub, new["properties"][field], f"{path}.{field}", problems)
        newly_required = set(new.get("required", [])) - set(old.get("required", []))
        for field in sorted(newly_required):
            problems.append(f"{path}.{field}: now required")
        return
    if isinstance(old, dict) and isinstance(new, dict) and "enum" in old and "enum" in new:
        lost = [v for v in old["enum"] if v not in new["enum"]]
        if lost:
            problems.append(f"{path}: enum lost {lost}")
        rest_old = {k: v for k, v in old.items() if k != "enum"}
        rest_new = {k: v for k, v in new.items() if k != "enum"}
        if rest_old != rest_new:
            problems.append(f"{path}: retyped")
        return
    if (
        isinstance(old, dict)
        and isinstance(new, dict)
        and len(old.get("anyOf", ())) == len(new.get("anyOf", ())) > 0
    ):
        for i, (o, n) in enumerate(zip(old["anyOf"], new["anyOf"], strict=True)):
            _compare(o, n, f"{path}|{i}", problems)
        return
    if isinstance(old, dict) and isinstance(new, dict):
        nested = [k for k in ("items", "additionalProperties") if isinstance(old.get(k), dict)]
        for k in nested:
            if not isinstance(new.get(k), dict):
                problems.append(f"{path}: retyped")
                return
            _compare(old[k], new[k], f"{path}.{k}" if k == "items" else f"{path}.*", problems)
        old, new = (
            {k: v for k, v in old.items() if k not in nested},
            {k: v for k, v in new.items() if k not in nested},
        )
    if old != new:
        problems.append(f"{path}: retyped")


def compatibility_problems(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why ``new`` cannot replace ``old`` within one schema version (empty when it can)."""
    problems: list[str] = []
    for key in ("$schema", "$id"):  # consumers resolve and cache schemas by these
        if key in old and new.get(key) != old[key]:
            problems.append(f"{key}: changed from {old[key]!r} to {new.get(key)!r}")
    _compare(
        _resolve(old, old.get("$defs", {})),
        _resolve(new, new.get("$defs", {})),
        old.get("x-kwont-topic", "$"),
        problems,
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Console script ``kwont-schemas``."""
    parser = argparse.ArgumentParser(prog="kwont-schemas", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["export", "check", "docs", "docs-check"])
    parser.add_argument(
        "directory", nargs="?", type=Path, help=f"default {DEFAULT_DIR} (docs: {DEFAULT_DOC})"
    )
    args = parser.parse_args(argv)
    if args.command in ("docs", "docs-check"):
        return _docs(args.command, args.directory or DEFAULT_DOC)
    args.directory = args.directory or DEFAULT_DIR
    if args.command == "export":
        for path in export(args.directory):
            print(path)
        return 0
    problems = drift(args.directory)
    for problem in problems:
        print(f"schema drift: {problem} (run `kwont-schemas export`)", file=sys.stderr)
    return 1 if problems else 0


def _docs(command: str, doc: Path) -> int:
    """``docs``: rewrite the topic table of ``doc``; ``docs-check``: 1 when it is stale."""
    root = Path.cwd()
    try:
        if command == "docs":
            print(f"{doc}: {'updated' if write(doc, root) else 'already current'}")
            return 0
        if stale(doc, root):
            print(f"{doc}: the topic table is stale (run `make docs`)", file=sys.stderr)
            return 1
    except (OSError, ValueError) as exc:
        print(f"kwont-schemas {command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
