"""Inline suppression: a migration allows a rule, and must say why.

In a ``.sql`` migration, a comment line anywhere in the file::

    -- lamina:allow drop-column the column was unused since release 4.2

A Python migration declares the same as a class attribute,
``risk_allow = {"drop-column": "the column was unused since release 4.2"}``, which the loader
reads and checks with :func:`allowance_errors`. An allowed finding stays in the report, marked
with the reason, but no longer counts towards its level.

This reads comment lines, never statements: what a statement does is decided only from its
sqlglot parse tree. It lives outside :mod:`lamina.risk` because reading a file's metadata
(``status``) parses its directives: the rule catalogue is loaded only when a file has one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["DIRECTIVE", "allowance_errors", "parse_allowances"]

#: The comment directive that allows a rule.
DIRECTIVE = "lamina:allow"


def parse_allowances(text: str) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """The rules a SQL migration allows, with their reasons, and the directives in error.

    Returns:
        ``(allowed, errors)``: rule id → reason, and ``(line, message)`` for every directive
        without a rule id or reason, with an unknown rule id, or repeating a rule (1-based
        lines). Errors never allow anything.
    """
    allowed: dict[str, str] = {}
    first_line: dict[str, int] = {}
    errors: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = _directive_words(line)
        if words is None:
            continue
        outcome = _read_directive(words)
        if isinstance(outcome, str):
            errors.append((number, outcome))
            continue
        rule_id, reason = outcome
        if rule_id in allowed:
            errors.append((number, f"{rule_id} is already allowed on line {first_line[rule_id]}"))
            continue
        allowed[rule_id] = reason
        first_line[rule_id] = number
    return allowed, errors


def allowance_errors(allowed: Mapping[str, str]) -> list[str]:
    """Problems in an allow mapping (a Python migration's ``risk_allow``), for people."""
    errors = []
    for rule_id, reason in allowed.items():
        if rule_id not in _rules():
            errors.append(f"{DIRECTIVE}: unknown rule {rule_id!r}")
        elif not isinstance(reason, str) or not reason.strip():
            errors.append(f"{DIRECTIVE} {rule_id}: a reason is required")
    return errors


def _directive_words(line: str) -> list[str] | None:
    """The words after ``--`` when the line is a ``lamina:allow`` comment, else None.

    Near-misses such as ``lamina:allows`` count as directives, so a typo is reported instead
    of silently allowing nothing.
    """
    stripped = line.strip()
    if not stripped.startswith("--"):
        return None
    words = stripped[2:].split()
    if not words or not words[0].lower().startswith(DIRECTIVE):
        return None
    return words


def _read_directive(words: list[str]) -> tuple[str, str] | str:
    """``(rule id, reason)``, or the error message."""
    if words[0].lower() != DIRECTIVE:
        return f"unknown directive {words[0]!r}: write `-- {DIRECTIVE} RULE-ID reason`"
    if len(words) < 2:
        return f"{DIRECTIVE} needs a rule id and a reason: `-- {DIRECTIVE} RULE-ID reason`"
    rule_id = words[1].lower()
    if rule_id not in _rules():
        return f"{DIRECTIVE}: unknown rule {words[1]!r}"
    if len(words) < 3:
        return f"{DIRECTIVE} {rule_id}: a reason is required"
    return rule_id, " ".join(words[2:])


def _rules() -> Collection[str]:
    from lamina.risk.catalogue import RULES

    return RULES
