"""The topic table of docs/contract.md: current with the code, and its producers and consumers
are really where it says (scanned from the source, both ways)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwont_common import schemas, topics_doc
from kwont_common.topics import DEAD_LETTER, TOPICS
from kwont_common.topics_contract import BUILT_NOT_PUBLISHED, CONTRACTS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / topics_doc.DEFAULT_DOC
MODELS = {t.model.__name__: name for name, t in TOPICS.items()} | {
    DEAD_LETTER.model.__name__: DEAD_LETTER.name
}
# Where models are defined or sampled for tests, not built to be published.
NOT_CODE = ("libs/common/kwont_common/events/", "libs/common/kwont_common/testing.py")


def sources() -> Iterator[tuple[str, ast.Module]]:
    """Every Python file of services/ and libs/ with its syntax tree (not the copies pip
    leaves in a package's build/ when an image installs it)."""
    for top in ("services", "libs"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(NOT_CODE) and "build" not in path.relative_to(ROOT).parts:
                yield rel, ast.parse(path.read_text(), rel)


def built_models(tree: ast.Module) -> set[str]:
    """Topic models constructed in ``tree`` (``Fill(...)``, ``ev.Fill(...)``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            if name in MODELS:
                found.add(name)
    return found


def _strings(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.Dict):
        return [
            k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        ]
    if isinstance(node, ast.Tuple | ast.List):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def _is_name(node: ast.AST, *names: str) -> bool:
    return isinstance(node, ast.Name) and (node.id in names or node.id.endswith(names))


def subscribed(tree: ast.Module) -> set[str]:
    """Topic names ``tree`` subscribes to: keys of a ``handlers`` dict (the ``handlers=`` of
    ``Wiring`` or ``EventConsumer``, or a variable ``handlers``), ``handlers["x"] = ...``,
    ``topic("x")``, or a ``..._TOPICS`` tuple of names."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if _is_name(f, "EventConsumer") and len(node.args) >= 3:
                found += _strings(node.args[2])
            found += [s for kw in node.keywords if kw.arg == "handlers" for s in _strings(kw.value)]
            if _is_name(f, "topic") and node.args and isinstance(node.args[0], ast.Constant):
                found.append(str(node.args[0].value))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if _is_name(target, "handlers", "TOPICS"):
                    found += _strings(node.value)
                elif isinstance(target, ast.Subscript) and _is_name(target.value, "handlers"):
                    found += _strings(ast.Tuple(elts=[target.slice]))
    return {name for name in found if name in TOPICS}


def test_the_topic_table_in_the_docs_is_current() -> None:
    assert not topics_doc.stale(DOC, ROOT), "docs/contract.md is stale: run `make docs`"


def test_docs_check_fails_on_a_stale_table(tmp_path: Path) -> None:
    doc = tmp_path / "contract.md"
    doc.write_text(DOC.read_text().replace("`account:SYMBOL`", "`account`", 1))
    assert topics_doc.stale(doc, ROOT)
    assert schemas.main(["docs-check", str(doc)]) == 1
    assert topics_doc.write(doc, ROOT) is True
    assert doc.read_text() == DOC.read_text()
    assert schemas.main(["docs-check", str(doc)]) == 0


def test_docs_without_markers_say_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "contract.md"
    doc.write_text("# no table here\n")
    assert schemas.main(["docs", str(doc)]) == 2
    assert "markers" in capsys.readouterr().err


def test_partitions_come_from_where_topics_are_created() -> None:
    example = (ROOT / ".env.example").read_text()
    env = (ROOT / topics_doc.COMPOSE_ENV).read_text()
    values = (ROOT / topics_doc.HELM_VALUES).read_text()
    p = topics_doc.partitions(ROOT)
    assert f"\nKWONT_TOPIC_PARTITIONS={p['embedded']}\n" in example
    assert f"\nKWONT_TOPIC_PARTITIONS={p['compose']}\n" in env
    assert f"\n  partitions: {p['helm']}\n" in values


def test_every_topic_has_a_contract() -> None:
    assert set(CONTRACTS) == {*TOPICS, DEAD_LETTER.name}


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_declared_producers_build_the_model(name: str) -> None:
    model = TOPICS.get(name, DEAD_LETTER).model.__name__
    for end in CONTRACTS[name].producers:
        tree = ast.parse((ROOT / end.path).read_text())
        assert model in built_models(tree), f"{end.path} does not build {model} ({name})"


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_declared_consumers_subscribe(name: str) -> None:
    for end in CONTRACTS[name].consumers:
        tree = ast.parse((ROOT / end.path).read_text())
        assert name in subscribed(tree), f"{end.path} does not subscribe to {name}"


def test_every_model_built_in_the_code_is_declared() -> None:
    declared = {(e.path, n) for n, c in CONTRACTS.items() for e in c.producers}
    undeclared = []
    for rel, tree in sources():
        for model in built_models(tree):
            if (rel, MODELS[model]) not in declared and (rel, model) not in BUILT_NOT_PUBLISHED:
                undeclared.append(f"{rel} builds {model}")
    assert undeclared == [], (
        "add them to kwont_common.topics_contract (producers or BUILT_NOT_PUBLISHED)"
    )


def test_every_subscription_in_the_code_is_declared() -> None:
    declared = {(e.path, n) for n, c in CONTRACTS.items() for e in c.consumers}
    undeclared = [
        f"{rel} subscribes to {name}"
        for rel, tree in sources()
        if rel.startswith("services/")
        for name in subscribed(tree)
        if (rel, name) not in declared
    ]
    assert undeclared == [], "add them to the consumers in kwont_common.topics_contract"
