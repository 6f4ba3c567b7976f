"""scripts/check_structure.py, the import-circle and module-size check of `make lint`, on small
trees written for each case (and on the repository itself, which must pass)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_structure.py"
_spec = importlib.util.spec_from_file_location("check_structure", SCRIPT)
assert _spec and _spec.loader
structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(structure)


def tree(tmp_path: Path, files: dict[str, str], pyproject: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


PKG = "libs/a/kwont_a"


def test_a_circle_hidden_in_a_function_is_found(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        f"{PKG}/__init__.py": "",
        f"{PKG}/p.py": "def f():\n    from kwont_a import q\n    return q\n",
        f"{PKG}/q.py": "from kwont_a.p import f\n",
    })  # fmt: skip
    [finding] = structure.check(root)
    assert "import circle" in finding
    assert "kwont_a.p -> kwont_a.q" in finding and "kwont_a.q -> kwont_a.p" in finding


def test_relative_and_type_checking_imports_count(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        f"{PKG}/__init__.py": "",
        f"{PKG}/sub/__init__.py": "",
        f"{PKG}/sub/p.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                           "    from ..q import X\n",
        f"{PKG}/q.py": "from .sub import p\nX = 1\n",
    })  # fmt: skip
    [finding] = structure.check(root)
    assert "kwont_a.sub.p -> kwont_a.q" in finding


def test_one_way_imports_and_package_reexports_pass(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        f"{PKG}/__init__.py": "from kwont_a.p import f\n",
        f"{PKG}/p.py": "from kwont_a import q\ndef f():\n    return q\n",
        f"{PKG}/q.py": "import kwont_a\n",
    })  # fmt: skip
    assert structure.check(root) == []


def test_a_long_module_fails_unless_allowed_and_may_not_grow(tmp_path: Path) -> None:
    long = "x = 1\n" * 301
    files = {f"{PKG}/__init__.py": "", f"{PKG}/big.py": long}
    [finding] = structure.check(tree(tmp_path / "plain", files))
    assert finding.startswith("libs/a/kwont_a/big.py: 301 lines, over 300")
    allowed = f'[tool.kwont.structure.oversized]\n"{PKG}/big.py" = 301\n'
    assert structure.check(tree(tmp_path / "allowed", files, allowed)) == []
    grown = {**files, f"{PKG}/big.py": long + "y = 2\n"}
    [finding] = structure.check(tree(tmp_path / "grown", grown, allowed))
    assert "302 lines, grew past its allowed 301" in finding
    split = {**files, f"{PKG}/big.py": "x = 1\n"}
    [finding] = structure.check(tree(tmp_path / "split", split, allowed))
    assert "drop its oversized entry" in finding


RATCHET = '[tool.ruff.lint.extend-per-file-ignores]\n"{rel}" = ["D103"]\n'


def test_a_docstring_ratchet_entry_must_still_be_needed(tmp_path: Path) -> None:
    rel = f"{PKG}/p.py"
    bare = {f"{PKG}/__init__.py": "", rel: '"""P."""\n\n\ndef f():\n    return 1\n'}
    assert structure.check(tree(tmp_path / "bare", bare, RATCHET.format(rel=rel))) == []
    documented = {**bare, rel: '"""P."""\n\n\ndef f():\n    """One."""\n    return 1\n'}
    [finding] = structure.check(tree(tmp_path / "done", documented, RATCHET.format(rel=rel)))
    assert rel in finding and "drop its line from the docstring ratchet" in finding
    [gone] = structure.check(tree(tmp_path / "gone", {}, RATCHET.format(rel=rel)))
    assert rel in gone and "gone" in gone
