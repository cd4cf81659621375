"""squawk and lamina on the same PostgreSQL migrations: rule by rule, then beyond squawk.

For each squawk rule of ``rules.toml`` with a corpus (``corpus/<rule>/bad*.sql`` and
``good*.sql``), this runs squawk on each file and lamina's risk analysis (dialect postgres, no
live facts, as ``lamina lint`` offline), and prints a markdown table: does each tool flag the
hazard in ``bad`` and stay quiet on the safe form in ``good``. Then lamina and squawk on the
dangerous migrations of ``beyond/`` that squawk has no rule for.

squawk is run the way lamina runs the file: ``--assume-in-transaction`` unless the file says
``-- transactional: false``. Its lock/statement timeout rules are left out of the "beyond"
column (lamina sets both timeouts on every session it migrates with).

    npm install --prefix /tmp/squawk squawk-cli
    .venv/bin/python benchmarks/squawk/compare.py --squawk /tmp/squawk/node_modules/.bin/squawk
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamina_check import BEYOND, Outcome, assess_file, corpus_files, load_manifest

TIMEOUT_RULES = frozenset({"require-lock-timeout", "require-statement-timeout"})


@dataclass(frozen=True)
class Squawk:
    """The squawk binary, run on one file at a time."""

    binary: str

    def version(self) -> str:
        command = [self.binary, "--version"]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def rules(self, path: Path, pg_version: str | None = None) -> set[str]:
        """The squawk rules that fire on ``path``, run as lamina would run the file."""
        args = [self.binary, "--reporter", "json"]
        if _transactional(path):
            args.append("--assume-in-transaction")
        if pg_version:
            args.append(f"--pg-version={pg_version}")
        # squawk exits 1 when it reports anything: the JSON on stdout is the answer.
        done = subprocess.run([*args, str(path)], capture_output=True, text=True, check=False)
        try:
            violations = json.loads(done.stdout or "[]")
        except json.JSONDecodeError:
            return {f"(squawk failed: {done.stderr.strip()[:60]})"}
        return {v["rule_name"] for v in violations}


def _transactional(path: Path) -> bool:
    """Whether lamina runs the file in a transaction (no ``-- transactional: false``)."""
    from lamina_check import migration_file

    return migration_file(path).meta.transactional


@dataclass(frozen=True)
class RuleRow:
    """One squawk rule's line of the table."""

    rule: str
    kind: str
    squawk_bad: bool
    squawk_good: bool
    lamina_bad: bool
    lamina_good: bool
    lamina_said_bad: str
    lamina_said_good: str
    #: bad files lamina flags, and good files it is quiet on, of how many
    bad_files: tuple[int, int] = (0, 0)
    good_files: tuple[int, int] = (0, 0)


def compare_rule(rule: str, entry: dict[str, Any], squawk: Squawk) -> RuleRow:
    expected: list[str] = entry.get("lamina", [])
    pg = entry.get("squawk_pg_version")
    bad, good = corpus_files(rule, "bad"), corpus_files(rule, "good")
    flagged = [any(o.flags(r) for r in expected) for o in map(assess_file, bad)]
    lamina_good = [assess_file(path) for path in good]
    quiet = [_quiet(o, expected) for o in lamina_good]
    return RuleRow(
        rule,
        entry["kind"],
        squawk_bad=all(rule in squawk.rules(path, pg) for path in bad),
        squawk_good=not any(rule in squawk.rules(path, pg) for path in good),
        lamina_bad=all(flagged),
        lamina_good=all(quiet),
        lamina_said_bad=_said([assess_file(path) for path in bad]),
        lamina_said_good=_said(lamina_good),
        bad_files=(sum(flagged), len(flagged)),
        good_files=(sum(quiet), len(quiet)),
    )


def _quiet(outcome: Outcome, expected: list[str]) -> bool:
    """No danger, and none of the rules meant for the hazard, at warning or above."""
    return not outcome.danger and not any(outcome.flags(r) for r in expected)


def _said(outcomes: list[Outcome]) -> str:
    """What lamina reported, file by file (``bad_2: ...`` for the second file on)."""
    said = [", ".join(o.flagged()) or "nothing" for o in outcomes]
    return "; ".join(text if i == 0 else f"#{i + 1}: {text}" for i, text in enumerate(said))


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def rules_table(rows: list[RuleRow]) -> list[str]:
    lines = [
        "| squawk rule | kind | squawk flags bad | squawk quiet on good | lamina flags bad "
        "(what lamina reports at warning+) | lamina quiet on good (what it reports) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        flags = f"{_mark(row.lamina_bad)} ({row.lamina_said_bad})"
        if row.kind == "runner":
            flags = "n/a: lamina sets the timeout on every migrating session"
        lines.append(
            f"| {row.rule} | {row.kind} | {_mark(row.squawk_bad)} | {_mark(row.squawk_good)} | "
            f"{flags} | {_mark(row.lamina_good)} ({row.lamina_said_good}) |"
        )
    return lines


def coverage(rows: list[RuleRow]) -> list[str]:
    safety = [row for row in rows if row.kind == "safety"]
    total = len(safety)

    def share(count: int) -> str:
        return f"{count}/{total} ({100 * count / total:.0f}%)"

    both = sum(row.lamina_bad and row.lamina_good for row in safety)
    bad = [sum(n) for n in zip(*(row.bad_files for row in safety), strict=True)]
    good = [sum(n) for n in zip(*(row.good_files for row in safety), strict=True)]
    return [
        f"Over the {total} safety rules (lint-checkable; the two `runner` rules are covered by "
        "lamina's session settings, not lint):",
        "",
        f"- lamina flags bad: {share(sum(row.lamina_bad for row in safety))}",
        f"- lamina quiet on good: {share(sum(row.lamina_good for row in safety))}",
        f"- **lamina both (the coverage figure): {share(both)}**",
        f"- squawk both, for reference: "
        f"{share(sum(row.squawk_bad and row.squawk_good for row in safety))}",
        f"- by file: lamina flags {bad[0]} of {bad[1]} bad files and is quiet on {good[0]} of "
        f"{good[1]} good files",
    ]


def beyond_table(manifest: dict[str, Any], squawk: Squawk) -> list[str]:
    lines = [
        "| migration | squawk says (timeouts left out) | lamina says (warning+) | "
        "lamina flags it |",
        "|---|---|---|---|",
    ]
    for name, entry in manifest.get("beyond", {}).items():
        path = BEYOND / f"{name}.sql"
        said_by_squawk = sorted(squawk.rules(path) - TIMEOUT_RULES)
        outcome = assess_file(path)
        flagged = any(outcome.flags(rule) for rule in entry.get("lamina", []))
        lines.append(
            f"| {name} | {', '.join(said_by_squawk) or 'nothing'} | "
            f"{', '.join(outcome.flagged()) or 'nothing'} | {_mark(flagged)} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squawk", default=shutil.which("squawk"), help="the squawk binary")
    args = parser.parse_args(argv)
    if not args.squawk:
        parser.error("squawk not found: pass --squawk PATH (npm install squawk-cli)")
    squawk = Squawk(args.squawk)
    manifest = load_manifest()
    rows = [
        compare_rule(rule, entry, squawk)
        for rule, entry in manifest["rules"].items()
        if entry["kind"] != "style"
    ]
    out = [f"squawk: `{squawk.version()}`; lamina: dialect postgres, no live facts", ""]
    out += [*rules_table(rows), "", *coverage(rows), "", "Beyond squawk:", ""]
    out += beyond_table(manifest, squawk)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
