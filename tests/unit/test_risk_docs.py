"""docs/risk-rules.md against the catalogue and the test suite.

The page is the user's reference for every rule: each catalogue rule has exactly one section,
its level is the catalogue's, and every test it names as proof exists. A rule renamed, a level
changed or a proving test renamed then fails here instead of leaving the page quietly wrong.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from lamina.risk import CATALOGUE, RULES

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs" / "risk-rules.md"

#: The `## ` headings that are not rules: the page's parts and its reference sections.
NON_RULE_HEADINGS = frozenset(
    {
        "Rules at a glance",
        "Levels",
        "Allowing a rule, with a reason",
        "General rules",
        "PostgreSQL",
        "MySQL and MariaDB",
        "SQLite",
        "DuckDB",
        "Whole-migration rules",
        "Compared with squawk",
    }
)

#: Rules whose level depends on the direction, documented as such instead of one word. The
#: documented text must still name the catalogue's level.
DOCUMENTED_LEVELS = {"data-migration": "warning on up, danger on down"}

LEVEL_LINE = re.compile(r"^\*\*Level:\*\* (?P<level>[^·]+)")
#: A reference to a test: a path under tests/, optionally with `::name` parts (a function, or
#: a class and its method).
TEST_REFERENCE = re.compile(r"`(?P<path>tests/[\w/]+\.py)(?P<names>(?:::\w+)*)`")


def _sections() -> list[tuple[str, str]]:
    """``(heading, body)`` of every `## ` section, in page order."""
    sections: list[tuple[str, str]] = []
    for chunk in re.split(r"^## ", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        heading, _, body = chunk.partition("\n")
        sections.append((heading.strip(), body))
    return sections


def _rule_sections() -> dict[str, str]:
    return {heading: body for heading, body in _sections() if heading in RULES}


def _proven_by(body: str) -> str:
    """The `**Proven by:**` paragraph of a section (it may wrap over several lines)."""
    start = body.find("**Proven by:**")
    if start < 0:
        return ""
    end = body.find("\n\n", start)
    return body[start:] if end < 0 else body[start:end]


@cache
def _definitions(path: Path) -> dict[str, frozenset[str]]:
    """Top-level functions and classes of a test module; a class maps to its methods."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = frozenset()
        elif isinstance(node, ast.ClassDef):
            found[node.name] = frozenset(
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return found


def _missing(path: str, names: list[str]) -> str | None:
    """Why ``path::names`` does not name a test, or None when it does."""
    file = ROOT / path
    if not file.is_file():
        return f"{path} does not exist"
    if not names:
        return None
    definitions = _definitions(file)
    if names[0] not in definitions:
        return f"{path} defines no {names[0]}"
    if len(names) > 1 and (len(names) > 2 or names[1] not in definitions[names[0]]):
        return f"{path}::{names[0]} has no {'::'.join(names[1:])}"
    return None


def test_every_rule_has_exactly_one_section_and_every_other_heading_is_known() -> None:
    headings = [heading for heading, _ in _sections()]
    for info in CATALOGUE:
        assert headings.count(info.id) == 1, info.id
    assert set(headings) - RULES.keys() == NON_RULE_HEADINGS


@pytest.mark.parametrize("rule_id", [info.id for info in CATALOGUE])
def test_every_rule_section_names_the_tests_that_prove_it(rule_id: str) -> None:
    proof = _proven_by(_rule_sections()[rule_id])
    references = [
        (match["path"], match["names"].split("::")[1:]) for match in TEST_REFERENCE.finditer(proof)
    ]
    assert any(names for _, names in references), f"{rule_id}: no tests/path.py::test_name"
    problems = [_missing(path, names) for path, names in references]
    assert [problem for problem in problems if problem] == []


def test_every_test_reference_on_the_page_exists() -> None:
    """Intro paragraphs name proving tests too; they must not rot either."""
    text = DOCS.read_text(encoding="utf-8")
    problems = [
        _missing(match["path"], match["names"].split("::")[1:])
        for match in TEST_REFERENCE.finditer(text)
    ]
    assert [problem for problem in problems if problem] == []


@pytest.mark.parametrize("rule_id", [info.id for info in CATALOGUE])
def test_every_rule_section_states_the_catalogue_level(rule_id: str) -> None:
    body = _rule_sections()[rule_id]
    level_lines = [m["level"] for line in body.splitlines() if (m := LEVEL_LINE.match(line))]
    assert len(level_lines) == 1, f"{rule_id}: one **Level:** line"
    documented = level_lines[0].strip()
    expected = RULES[rule_id].level.name.lower()
    if rule_id in DOCUMENTED_LEVELS:
        assert documented == DOCUMENTED_LEVELS[rule_id]
        assert expected in documented
    else:
        assert documented.split()[0] == expected, (rule_id, documented)


@pytest.mark.parametrize("rule_id", [info.id for info in CATALOGUE])
def test_every_rule_section_has_dialects_an_example_why_and_safer(rule_id: str) -> None:
    body = _rule_sections()[rule_id]
    assert "**Dialects:**" in body
    assert "```sql" in body
    assert "**Why it is risky:**" in body or "**Why it is worth knowing:**" in body
    assert "**Safer" in body
