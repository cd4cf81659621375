"""Risk findings of earlier runs, reused when the same statements meet the same schema.

Parsing with sqlglot (and importing it) is most of what the risk analysis costs, and most
runs analyse statements that were analysed before: CI applying the same migrations to a
fresh database, a dry run before the real run, ``lint`` before ``up``. The findings of one
migration in one direction are kept, one JSON file per dialect in the cache folder
(``LAMINA_CACHE_DIR``), under a key made of everything they depend on: the statements'
text and lines (what the recorder captured, so a Python migration whose helper changed is a
miss even when its file is not), the up's statements for a down, the migration's metadata
and allowances, the server version, the schema's structure (indexes, foreign keys) and the
source of the rules themselves. The size a finding quoted for a table is stored with it and
compared with today's facts before the entry is used. A change to any of them is a miss.

The cache only saves time: a file that cannot be read or written is ignored, and a run
without a cache folder analyses everything.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from lamina._version import __version__
from lamina.caching import read_json, write_json
from lamina.models import StatementRecord
from lamina.risk import LiveFacts, RiskFinding, RiskLevel, RiskReport, Subject, TableFacts

__all__ = ["FindingsCache", "WatchedTables"]

#: Entries kept per dialect; the least recently used go first.
MAX_ENTRIES = 20_000
_FORMAT = 1


class WatchedTables(Mapping[str, TableFacts]):
    """The live facts' tables, remembering which ones a rule looked up by name: those are
    the tables whose size a finding may quote."""

    def __init__(self, tables: Mapping[str, TableFacts]) -> None:
        self._tables = tables
        self.looked_up: dict[str, TableFacts | None] = {}

    def __getitem__(self, key: str) -> TableFacts:
        return self._tables[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def get(self, key: str, default: Any = None) -> Any:
        found = self._tables.get(key)
        self.looked_up[key] = found
        return default if found is None else found


@dataclass
class FindingsCache:
    """The cached findings of one dialect; :meth:`save` writes what this run added."""

    path: Path | None
    facts: LiveFacts
    _entries: dict[str, dict[str, Any]] | None = None
    _changed: bool = False
    _schema: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._schema = _schema_digest(self.facts)

    @classmethod
    def open(cls, directory: Path | None, dialect: str, facts: LiveFacts) -> FindingsCache:
        path = None if directory is None else directory / f"risk-{dialect}.json"
        return cls(path, facts)

    def key(
        self,
        migration_id: str,
        statements: Sequence[StatementRecord],
        up_statements: Sequence[StatementRecord],
        **settings: object,
    ) -> str:
        """Everything a report depends on besides the sizes of the tables it looked up."""
        digest = hashlib.blake2b(digest_size=20)
        for part in (migration_id, self._schema, repr(sorted(settings.items()))):
            digest.update(part.encode())
            digest.update(b"\0")
        for group in (statements, up_statements):
            for record in group:
                digest.update(f"{record.line}|{record.is_query}|{record.sql}".encode())
                digest.update(b"\0")
            digest.update(b"\1")
        return digest.hexdigest()

    def get(self, key: str, migration_id: str, direction: str) -> RiskReport | None:
        """The cached report, when the tables it looked up still have the facts it saw."""
        entry = self._load().get(key)
        if entry is None:
            return None
        try:
            for name, seen in entry["tables"].items():
                if _table_json(self.facts.tables.get(name)) != seen:
                    return None
            findings = tuple(_finding_from(item) for item in entry["findings"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # an entry this code did not write: analysed again, and replaced
        entry["used"] = time.time()
        self._changed = True
        return RiskReport(migration_id, direction, findings)

    def put(self, key: str, report: RiskReport, looked_up: Mapping[str, TableFacts | None]) -> None:
        self._load()[key] = {
            "findings": [_finding_json(f) for f in report.findings],
            "tables": {name: _table_json(known) for name, known in looked_up.items()},
            "used": time.time(),
        }
        self._changed = True

    def save(self) -> None:
        """Write the file when this run changed it (atomically; errors are ignored)."""
        if self.path is None or not self._changed or self._entries is None:
            return
        entries = self._entries
        if len(entries) > MAX_ENTRIES:
            newest = sorted(entries.items(), key=lambda item: item[1]["used"])[-MAX_ENTRIES:]
            entries = dict(newest)
        write_json(self.path, {"format": _FORMAT, "rules": _rules_digest(), "entries": entries})
        self._changed = False

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            self._entries = _read(self.path)
        return self._entries


def _read(path: Path | None) -> dict[str, dict[str, Any]]:
    """The entries of a cache file written by these rules; empty when there is none, it is
    unreadable, or the rules changed since."""
    document = read_json(path)
    if document is None or document.get("format") != _FORMAT:
        return {}
    entries = document.get("entries")
    if document.get("rules") != _rules_digest() or not isinstance(entries, dict):
        return {}
    return entries


@cache
def _rules_digest() -> str:
    """The rules' identity: lamina's and sqlglot's versions and the risk analysis' source
    files (size and modification time), so an edited rule never meets old findings."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        parser = version("sqlglot")
    except PackageNotFoundError:
        parser = "?"
    digest = hashlib.blake2b(f"{__version__}|{parser}".encode(), digest_size=20)
    package = Path(__file__).parent
    for folder in ("risk", "sqltext"):
        for source in sorted((package / folder).rglob("*.py")):
            stat = source.stat()
            digest.update(
                f"{source.relative_to(package)}|{stat.st_size}|{stat.st_mtime_ns}".encode()
            )
    return digest.hexdigest()


def _schema_digest(facts: LiveFacts) -> str:
    """The facts every analysis reads: server, indexes and foreign keys (not sizes)."""
    parts: list[object] = [facts.server_version, facts.flavor]
    for name in sorted(facts.tables):
        known = facts.tables[name]
        parts.append((name, sorted(known.indexes), known.indexed, sorted(known.referenced_by)))
    return hashlib.blake2b(repr(parts).encode(), digest_size=20).hexdigest()


def _table_json(known: TableFacts | None) -> list[object] | None:
    if known is None:
        return None
    return [known.rows, known.size_bytes]


def _finding_json(finding: RiskFinding) -> list[object]:
    subject = finding.subject
    return [
        finding.rule,
        int(finding.level),
        finding.message,
        finding.suggestion,
        finding.statement,
        finding.line,
        finding.suppressed,
        finding.reason,
        None if subject is None else [list(subject.table), subject.column, subject.label],
    ]


def _finding_from(item: list[Any]) -> RiskFinding:
    rule, level, message, suggestion, statement, line, suppressed, reason, subject = item
    return RiskFinding(
        rule,
        RiskLevel(level),
        message,
        suggestion,
        statement,
        line,
        suppressed,
        reason,
        None if subject is None else Subject(tuple(subject[0]), subject[1], subject[2]),
    )


def watched(facts: LiveFacts) -> tuple[LiveFacts, WatchedTables]:
    """``facts`` whose table lookups are remembered, and the record of them."""
    tables = WatchedTables(facts.tables)
    return replace(facts, tables=tables), tables
