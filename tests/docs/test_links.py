"""Every relative link of the guides (README.md, CHANGELOG.md, docs/) points at a file of the
repository and, with a ``#fragment``, at a heading of that file (GitHub's anchor rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors of the headings of ``path``."""
    text = FENCE.sub("", path.read_text())
    out = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        out.add(slug)
    return out


def links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text()))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(guide: Path) -> None:
    broken = []
    for target in links(guide):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        file, _, fragment = target.partition("#")
        dest = (guide.parent / file).resolve() if file else guide
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading with that anchor in {dest.name}")
    assert broken == [], f"{guide.name}: {broken}"


def test_the_anchor_rule() -> None:
    doc = ROOT / "docs" / "contract.md"
    assert "the-embedded-engines-and-what-the-code-does-about-them" in anchors(doc)
    assert "stores-and-who-may-write-each-collection" in anchors(doc)


OUTSIDE = re.compile(r"\.\./shared|DESIGN")
PAST_ROUNDS = re.compile(
    r"\bsession \d+|\bround \d+|\bstop \d+\b|\brounds? ago|\b(this|last|previous|earlier|that) "
    r"rounds?\b|\bthe round before",
    re.I,
)


@pytest.mark.parametrize("guide", [g for g in GUIDES if g.name != "CHANGELOG.md"],
                         ids=lambda p: p.relative_to(ROOT).as_posix())  # fmt: skip
def test_guides_stand_on_their_own(guide: Path) -> None:
    """No pointer outside the repository, no numbered round of past work: the guides say
    how Kwont behaves; its history is in CHANGELOG.md."""
    found = [
        f"{guide.name}:{n}: {line.strip()}"
        for n, line in enumerate(guide.read_text().splitlines(), 1)
        if OUTSIDE.search(line) or PAST_ROUNDS.search(line)
    ]
    assert found == [], found
