"""What lamina says about one ``.sql`` migration file, offline, the way ``lamina lint`` does.

Shared by ``compare.py`` (the squawk comparison) and ``tests/risk/test_squawk_corpus.py``:
the file is read with lamina's own ``.sql`` reader (headers, ``-- transactional: false``,
``-- lamina:allow``), loaded with the target's dialect (which refuses transaction control in a
transactional section, as lint does), and its up section assessed with no live facts.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamina.checksum import checksum
from lamina.errors import MigrationLoadError
from lamina.loader import load_migration
from lamina.models import Direction, MigrationFile
from lamina.risk import LiveFacts, RiskLevel
from lamina.safety import assess
from lamina.staticmeta import MetaError, read_sql_meta

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
BEYOND = HERE / "beyond"
MANIFEST = HERE / "rules.toml"

#: The pseudo rule id for a file lamina refuses to load (transaction control in a
#: transactional section): ``lamina lint`` reports it as an error, so it counts as flagged.
REFUSED = "refused-at-load"


@dataclass(frozen=True)
class Outcome:
    """lamina's verdict on one file: the level of each rule that fired and counted (not
    allowed), the allowed ones, and the statements it could not analyse."""

    levels: dict[str, RiskLevel] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()
    unparsed: tuple[str, ...] = ()
    refused: str | None = None
    #: ``(rule, level, statement)`` of every finding that counts, in order.
    findings: tuple[tuple[str, RiskLevel, str], ...] = ()

    def flags(self, rule: str) -> bool:
        """A rule counts as flagging at warning or danger; info is only a note."""
        if rule == REFUSED:
            return self.refused is not None
        level = self.levels.get(rule)
        return level is not None and level >= RiskLevel.WARNING

    def flagged(self) -> list[str]:
        """Every rule at warning or above, and the refusal, for tables."""
        rules = [r for r, level in self.levels.items() if level >= RiskLevel.WARNING]
        return [REFUSED, *rules] if self.refused else rules

    @property
    def danger(self) -> list[str]:
        return [r for r, level in self.levels.items() if level is RiskLevel.DANGER]

    @property
    def danger_statements(self) -> list[tuple[str, str]]:
        """``(rule, statement)`` of every danger finding, for review."""
        return [(r, sql) for r, level, sql in self.findings if level is RiskLevel.DANGER]


def migration_file(path: Path) -> MigrationFile:
    """``path`` as lamina's scanner would describe it (the name need not be numbered)."""
    data = path.read_bytes()
    slug = path.stem.replace(".", "_") or "migration"
    meta = read_sql_meta(data.decode("utf-8"), slug)
    return MigrationFile(f"001_{slug}", 1, slug, path, "sql", checksum(data), meta)


def assess_file(path: Path, dialect: str = "postgres", facts: LiveFacts | None = None) -> Outcome:
    """lamina's up-direction verdict on one ``.sql`` migration, with no live facts."""
    try:
        file = migration_file(path)
        migration = load_migration(file, dialect=dialect)
    except (MigrationLoadError, MetaError) as exc:
        return Outcome(refused=str(exc))
    _, report = assess(
        migration, file.id, direction=Direction.UP, dialect=dialect,
        category=file.meta.category.value, reversible=file.meta.reversible,
        facts=facts or LiveFacts(),
        transactional=file.meta.runs_in_transaction(Direction.UP),
    )  # fmt: skip
    levels: dict[str, RiskLevel] = {}
    for finding in report.active:
        levels[finding.rule] = max(finding.level, levels.get(finding.rule, finding.level))
    unparsed = tuple(f.statement or "" for f in report.active if f.rule == "unparsed-sql")
    allowed = tuple(f.rule for f in report.suppressed)
    findings = tuple((f.rule, f.level, f.statement or "") for f in report.active)
    return Outcome(levels, allowed, unparsed, findings=findings)


def load_manifest() -> dict[str, Any]:
    """``rules.toml``: squawk's rules, how each is classed and what lamina should say."""
    with MANIFEST.open("rb") as handle:
        return tomllib.load(handle)


def corpus_files(rule: str, kind: str) -> list[Path]:
    """``bad.sql`` and ``bad_2.sql``..., or the ``good`` ones, of one squawk rule."""
    folder = CORPUS / rule
    return sorted(folder.glob(f"{kind}.sql")) + sorted(folder.glob(f"{kind}_*.sql"))
