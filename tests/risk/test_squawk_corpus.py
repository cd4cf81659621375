"""lamina against squawk's PostgreSQL safety rules, on the corpus in benchmarks/squawk/.

Each squawk rule kept as a safety rule has a ``bad`` migration showing the hazard and a
``good`` one showing its safe form (benchmarks/squawk/rules.toml says which lamina rules
should catch it). lamina, offline with the postgres dialect, must flag every bad file at
warning or danger with one of those rules, and must give no danger finding, nor those rules,
on the good files. The rules lamina does not cover yet are strict xfails naming the gap: the
day a rule covers one, its test passes, strict xfail fails, and the marker (the manifest's
``gap_bad``/``gap_good``) is removed. squawk itself is not needed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lamina.risk import RULES

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "squawk"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("squawk_lamina_check", BENCH / "lamina_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building classes
    spec.loader.exec_module(module)
    return module


check = _load_checker()
MANIFEST: dict[str, Any] = check.load_manifest()
RULE_ENTRIES: dict[str, dict[str, Any]] = MANIFEST["rules"]
BEYOND_ENTRIES: dict[str, dict[str, Any]] = MANIFEST["beyond"]


def _cases(kinds: tuple[str, ...], gap: str) -> list[Any]:
    """One param per squawk rule of ``kinds``; a strict xfail where the manifest names a gap."""
    params = []
    for rule, entry in RULE_ENTRIES.items():
        if entry["kind"] not in kinds:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=entry[gap])] if gap in entry else []
        params.append(pytest.param(rule, entry, id=rule, marks=marks))
    return params


@pytest.mark.parametrize(("rule", "entry"), _cases(("safety",), "gap_bad"))
def test_lamina_flags_the_hazard(rule: str, entry: dict[str, Any]) -> None:
    bad_files = check.corpus_files(rule, "bad")
    assert bad_files, f"corpus/{rule} has no bad.sql"
    for path in bad_files:
        outcome = check.assess_file(path)
        assert any(outcome.flags(r) for r in entry["lamina"]), (
            f"{path.name}: expected one of {entry['lamina']}, lamina said {outcome.flagged()}"
        )


@pytest.mark.parametrize(("rule", "entry"), _cases(("safety", "runner"), "gap_good"))
def test_lamina_is_quiet_on_the_safe_form(rule: str, entry: dict[str, Any]) -> None:
    good_files = check.corpus_files(rule, "good")
    assert good_files, f"corpus/{rule} has no good.sql"
    for path in good_files:
        outcome = check.assess_file(path)
        assert outcome.refused is None, f"{path.name} refused: {outcome.refused}"
        assert not outcome.danger, f"{path.name}: danger {outcome.danger}"
        noisy = [r for r in entry["lamina"] if outcome.flags(r)]
        assert not noisy, f"{path.name}: the safe form still gets {noisy}"


def _beyond_cases() -> list[Any]:
    return [
        pytest.param(
            name,
            entry,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=entry["gap"])] if "gap" in entry else [],
        )
        for name, entry in BEYOND_ENTRIES.items()
    ]


@pytest.mark.parametrize(("name", "entry"), _beyond_cases())
def test_lamina_flags_what_squawk_misses(name: str, entry: dict[str, Any]) -> None:
    outcome = check.assess_file(check.BEYOND / f"{name}.sql")
    assert any(outcome.flags(r) for r in entry["lamina"]), outcome.flagged()


def test_the_manifest_is_complete_and_names_real_rules() -> None:
    """Every kept rule has a corpus; every rule a covered entry relies on exists in lamina."""
    for rule, entry in RULE_ENTRIES.items():
        if entry["kind"] == "style":
            assert entry.get("why"), f"{rule}: a style rule says why it is left out"
            continue
        assert check.corpus_files(rule, "bad"), rule
        assert check.corpus_files(rule, "good"), rule
        if entry["kind"] == "safety" and "gap_bad" not in entry:
            known = [r for r in entry["lamina"] if r in RULES or r == check.REFUSED]
            assert known, f"{rule}: none of {entry['lamina']} is a lamina rule"
    for name in BEYOND_ENTRIES:
        assert (check.BEYOND / f"{name}.sql").is_file(), name


def test_allowed_findings_do_not_count_as_flags() -> None:
    """The reviewed drop (``lamina:allow``) is quiet because the finding is allowed, not
    because lamina missed the drop: the allowed rule is still reported as such."""
    outcome = check.assess_file(check.CORPUS / "ban-drop-table" / "good.sql")
    assert outcome.allowed == ("drop-table",)
    assert not outcome.flags("drop-table")
