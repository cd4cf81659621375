"""lamina and squawk on real projects' plain-SQL PostgreSQL migrations.

Each migration file is judged as lamina would judge it as one migration: wrapped in a
``-- migrate:up`` section (so it runs in one transaction, as diesel, pop and most runners do),
loaded with the postgres dialect, and assessed offline. The report counts statements, the
statements lamina cannot analyse (``unparsed-sql``, by kind), the danger findings (to review
for false positives), and squawk's verdicts on the same files.

    .venv/bin/python benchmarks/squawk/realworld.py --squawk /tmp/squawk/node_modules/.bin/squawk \\
        lemmy=/tmp/rw/lemmy/migrations:**/up.sql ...
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lamina_check import REFUSED, Outcome, assess_file
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from lamina.risk import RiskLevel
from lamina.sqltext import split_statements

#: Files for other engines, in projects that keep one file per engine (ory/kratos names them
#: ``<version>_<name>.<engine>[.autocommit].up.sql``).
OTHER_ENGINES = frozenset({"mysql", "sqlite", "sqlite3", "cockroach"})
#: How the projects' own runners are told to run a file outside a transaction: a comment
#: (postgres-migrations, used by supabase/storage) or the file name (ory/pop's autocommit).
NO_TRANSACTION_COMMENT = "-- postgres-migrations disable-transaction"
NO_TRANSACTION_NAME = ".autocommit."


@dataclass
class Tally:
    """What one project's migrations gave."""

    files: int = 0
    empty: int = 0
    statements: int = 0
    refused: list[str] = field(default_factory=list)
    unparsed: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    danger: list[tuple[str, str, str]] = field(default_factory=list)
    squawk: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, outcome: Outcome, statements: int) -> None:
        self.files += 1
        self.statements += statements
        if outcome.refused:
            self.refused.append(f"{name}: {outcome.refused[:120]}")
        self.unparsed.update(statement_kind(sql) for sql in outcome.unparsed)
        self.rules.update(r for r, level, _ in outcome.findings if level >= RiskLevel.WARNING)
        if outcome.refused:
            self.rules[REFUSED] += 1
        self.danger.extend((name, rule, sql) for rule, sql in outcome.danger_statements)


def statement_kind(sql: str) -> str:
    """The leading keywords of a statement (``ALTER TABLE ... ADD``), to group them."""
    try:
        scanned = Dialect.get_or_raise("postgres").tokenize(sql)[:12]
    except SqlglotError:
        return "(untokenizable)"
    # A command sqlglot has no grammar for keeps its rest as one token: split it into words.
    tokens = [word.upper()[:24] for token in scanned for word in token.text.split()]
    if tokens[:2] == ["ALTER", "TABLE"]:
        return f"ALTER TABLE ... {_action_after_name(tokens[2:])}"
    if tokens[1:3] == ["OR", "REPLACE"]:
        return " ".join(tokens[:4])
    return " ".join(tokens[:2]) if tokens[:1] != ["DO"] else "DO (block)"


def _action_after_name(tokens: list[str]) -> str:
    """The first word after ``[IF EXISTS] [ONLY] schema.table`` in an ALTER TABLE."""
    rest = [t for t in tokens if t not in ("IF", "EXISTS", "ONLY")]
    index = 1
    while index + 1 < len(rest) and rest[index] == ".":
        index += 2
    return rest[index] if index < len(rest) else "?"


def runs_outside_transaction(path: Path, text: str) -> bool:
    """Whether the project's runner applies this file without a transaction."""
    marked = any(line.strip() == NO_TRANSACTION_COMMENT for line in text.splitlines())
    return marked or NO_TRANSACTION_NAME in path.name


def judge(path: Path, workdir: Path) -> tuple[Outcome | None, int]:
    """lamina's verdict on ``path`` as one migration (None when it runs nothing), and how
    many statements it holds. A file the project runs outside a transaction is marked
    ``-- transactional: false``, as it would be once moved to lamina."""
    text = path.read_text(encoding="utf-8")
    count = len(split_statements(text, "postgres"))
    if not count:
        return None, 0
    header = "-- transactional: false\n" if runs_outside_transaction(path, text) else ""
    wrapped = workdir / "migration.sql"
    wrapped.write_text(f"{header}-- migrate:up\n{text}\n", encoding="utf-8")
    return assess_file(wrapped), count


def run_squawk(binary: str, files: list[Path]) -> Counter[str]:
    """squawk's rules over every file, counted (timeouts included), told what the runner
    does: ``--assume-in-transaction`` unless the file runs outside a transaction."""
    found: Counter[str] = Counter()
    outside = [p for p in files if runs_outside_transaction(p, p.read_text(encoding="utf-8"))]
    inside = [path for path in files if path not in outside]
    for flags, group in ((["--assume-in-transaction"], inside), ([], outside)):
        for start in range(0, len(group), 200):
            batch = [str(path) for path in group[start : start + 200]]
            command = [binary, *flags, "--reporter", "json", *batch]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            found.update(v["rule_name"] for v in json.loads(done.stdout or "[]"))
    return found


def project_files(spec: str) -> tuple[str, list[Path]]:
    name, _, rest = spec.partition("=")
    folder, _, pattern = rest.partition(":")
    files = sorted(Path(folder).glob(pattern or "**/*.sql"))
    return name, [f for f in files if not OTHER_ENGINES & set(f.name.split("."))]


def report(name: str, tally: Tally) -> list[str]:
    unparsed = sum(tally.unparsed.values())
    lines = [
        f"### {name}",
        "",
        f"- files: {tally.files} (and {tally.empty} that run nothing), "
        f"statements: {tally.statements}",
        f"- unparsed-sql: {unparsed} statements "
        f"({100 * unparsed / max(tally.statements, 1):.1f}%); by kind: "
        + ", ".join(f"{kind} {count}" for kind, count in tally.unparsed.most_common(12)),
        f"- refused at load: {len(tally.refused)}",
        "- lamina findings at warning+ (statements): "
        + ", ".join(f"{rule} {count}" for rule, count in tally.rules.most_common()),
        "- squawk findings (statements): "
        + ", ".join(f"{rule} {count}" for rule, count in tally.squawk.most_common()),
        f"- danger findings: {len(tally.danger)}: "
        + ", ".join(f"{r} {n}" for r, n in Counter(r for _, r, _ in tally.danger).most_common()),
    ]
    lines += [f"  - refused: {line}" for line in tally.refused[:5]]
    seen = Counter(tally.danger)
    lines += [
        f"  - `{rule}` in {file}: `{_one_line(sql)}`" + (f" (×{n})" if n > 1 else "")
        for (file, rule, sql), n in seen.items()
    ]
    return [*lines, ""]


def _one_line(sql: str) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= 110 else flat[:107] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squawk", default=shutil.which("squawk"))
    parser.add_argument("projects", nargs="+", help="NAME=FOLDER:GLOB")
    args = parser.parse_args(argv)
    out: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for spec in args.projects:
            name, files = project_files(spec)
            tally = Tally()
            root = Path(spec.partition("=")[2].partition(":")[0])
            for path in files:
                outcome, statements = judge(path, Path(scratch))
                if outcome is None:
                    tally.empty += 1
                else:
                    tally.add(str(path.relative_to(root)), outcome, statements)
            if args.squawk:
                tally.squawk = run_squawk(args.squawk, files)
            out += report(name, tally)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
