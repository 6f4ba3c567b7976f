"""Structure check run by `make lint`: no import circle among our modules, and no module in
libs/ or services/ over the line limit.

Imports are read from the source (ast), wherever they stand: at the top, inside a function
or under ``if TYPE_CHECKING``, since an import hidden in a function is still a circle. An
import of a package's ``__init__`` (``from kwont_quant import Strategy``) is not followed:
an ``__init__`` re-exports, and every module would otherwise sit in a circle with it.

A module may stay over the limit only while it is named in ``[tool.kwont.structure]
oversized`` of pyproject.toml with the line count it may not exceed; the entry goes when
the module is split. Likewise the docstring ratchet (``[tool.ruff.lint.extend-per-file-
ignores]``, which ruff itself applies): an entry whose module no longer breaks the rules it
names, or is gone, is a finding, so the list only shrinks.
Usage: ``python scripts/check_structure.py [ROOT]``; exit 1 on a finding.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

SCANNED = ("libs", "services", "tools")  # import circles
SIZED = ("libs", "services")  # the line limit
SKIPPED_DIRS = {"build", ".venv", "__pycache__", "node_modules"}
DEFAULT_LIMIT = 300


def modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file for every module of a ``kwont_*`` package under SCANNED."""
    found: dict[str, Path] = {}
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).parts
            if SKIPPED_DIRS.intersection(parts):
                continue
            names = _dotted(path)
            if names is not None:
                found[names] = path
    return found


def _dotted(path: Path) -> str | None:
    """``.../kwont_x/a/b.py`` -> ``kwont_x.a.b`` (``__init__`` drops), or None outside one."""
    parts = list(path.with_suffix("").parts)
    starts = [i for i, p in enumerate(parts) if p.startswith("kwont_")]
    if not starts:
        return None
    dotted = parts[starts[0] :]
    if dotted[-1] == "__init__":
        dotted = dotted[:-1]
    return ".".join(dotted)


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The modules of ``known`` that module ``name`` imports (package ``__init__``s left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module, node.level)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            if target in known and target != name and known[target].name != "__init__.py":
                yield target


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - level + 1]
    return ".".join([*base, module] if module else base)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def oversized(root: Path, paths: Iterable[Path], allowed: dict[str, int]) -> list[str]:
    """A line per module over the limit that is not allowed its size."""
    problems = []
    for path in paths:
        rel = path.relative_to(root).as_posix()
        if not rel.startswith(SIZED):
            continue
        lines = len(path.read_text().splitlines())
        cap = allowed.get(rel, DEFAULT_LIMIT)
        if lines > cap:
            why = (
                f"grew past its allowed {cap} (split it, or it may not grow)"
                if rel in allowed
                else f"over {DEFAULT_LIMIT}: split it along its seams"
            )
            problems.append(f"{rel}: {lines} lines, {why}")
    for rel in sorted(allowed):
        path = root / rel
        if not path.exists():
            problems.append(f"{rel}: named in [tool.kwont.structure] oversized but gone: drop it")
        elif len(path.read_text().splitlines()) <= DEFAULT_LIMIT:
            problems.append(f"{rel}: now within {DEFAULT_LIMIT} lines: drop its oversized entry")
    return problems


def stale_ratchet(root: Path, ratchet: dict[str, list[str]]) -> list[str]:
    """Ratchet entries (file -> docstring rules it may break) that ruff finds no longer needed."""
    present = {rel: rules for rel, rules in ratchet.items() if (root / rel).exists()}
    problems = [f"{rel}: in the docstring ratchet but gone: drop it" for rel in ratchet
                if rel not in present]  # fmt: skip
    if not present:
        return problems
    rules = sorted({r for rs in present.values() for r in rs})
    found = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--exit-zero", "--select",
         ",".join(rules), "--output-format", "json", *present],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    broken: dict[str, set[str]] = {}
    for item in json.loads(found.stdout):
        rel = Path(item["filename"]).resolve().relative_to(root).as_posix()
        broken.setdefault(rel, set()).add(item["code"])
    for rel, rs in sorted(present.items()):
        if not broken.get(rel, set()) & set(rs):
            problems.append(f"{rel}: documented now: drop its line from the docstring ratchet")
        elif set(rs) - broken[rel]:
            done = ", ".join(sorted(set(rs) - broken[rel]))
            problems.append(f"{rel}: no longer breaks {done}: take it off its ratchet line")
    return problems


def check(root: Path) -> list[str]:
    """Every finding, one line each; empty when the tree is clean."""
    known = modules(root)
    graph = {name: set(imports(name, path, known)) for name, path in known.items()}
    problems = []
    for component in circles(graph):
        members = set(component)
        ties = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
        problems.append("import circle: " + "; ".join(ties) + ". Move the shared piece so "
                        "one of them depends on the other, not both ways.")  # fmt: skip
    config = tomllib.loads((root / "pyproject.toml").read_text())
    allowed = config.get("tool", {}).get("kwont", {}).get("structure", {}).get("oversized", {})
    problems += oversized(root, known.values(), {str(k): int(v) for k, v in allowed.items()})
    lint = config.get("tool", {}).get("ruff", {}).get("lint", {})
    ratchet = {str(k): [str(r) for r in v if str(r).startswith("D")]
               for k, v in lint.get("extend-per-file-ignores", {}).items()}  # fmt: skip
    return problems + stale_ratchet(root, {k: v for k, v in ratchet.items() if v})


def main(argv: list[str]) -> int:
    """Print every structure problem under the root (argv[0], default .); 1 when there is one."""
    root = Path(argv[0] if argv else ".").resolve()
    problems = check(root)
    for line in problems:
        print(f"structure: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
