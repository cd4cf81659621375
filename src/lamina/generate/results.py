"""What ``generate`` and ``check-schema`` return, with their ``--json`` documents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.models.records import DOCUMENT_SCHEMA_VERSION

if TYPE_CHECKING:
    from lamina.api import LintResult
    from lamina.schema import Difference

__all__ = ["GenerateResult", "GeneratedFile", "SchemaCheck"]


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """One migration file ``generate`` wrote (``--safe`` may write several, in order)."""

    path: Path
    text: str
    up: tuple[str, ...]
    down: tuple[str, ...]
    transactional: bool = True

    def to_document(self) -> dict[str, object]:
        return {
            "id": self.path.stem,
            "path": str(self.path),
            "transactional": self.transactional,
            "up": list(self.up),
            "down": list(self.down),
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class GenerateResult:
    """The migration ``generate`` wrote (or, with ``dry_run``, would write).

    ``path`` and ``text`` are None when there was nothing to do. ``lint`` is the new file's
    risk analysis (up and down), judged as ``lamina lint`` would judge it. ``files`` lists
    every file written, in order: one, or with ``safe`` as many as the safer forms need (then
    ``path``, ``text``, ``up`` and ``down`` are the first one's).
    """

    source: str
    source_kind: str
    engine: str
    up: tuple[str, ...] = ()
    down: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    path: Path | None = None
    text: str | None = None
    dry_run: bool = False
    baseline: bool = False
    lint: LintResult | None = None
    safe: bool = False
    files: tuple[GeneratedFile, ...] = ()

    @property
    def nothing_to_do(self) -> bool:
        return self.path is None

    @property
    def migration_id(self) -> str | None:
        return None if self.path is None else self.path.stem

    def to_document(self) -> dict[str, object]:
        """The ``lamina generate --json`` document (docs/json.md)."""
        risk = None
        if self.lint is not None:
            risk = {k: v for k, v in self.lint.to_document().items() if k != "schema_version"}
        return {
            "schema_version": DOCUMENT_SCHEMA_VERSION,
            "source": self.source,
            "source_kind": self.source_kind,
            "engine": self.engine,
            "nothing_to_do": self.nothing_to_do,
            "dry_run": self.dry_run,
            "written": self.path is not None and not self.dry_run,
            "id": self.migration_id,
            "path": None if self.path is None else str(self.path),
            "baseline": self.baseline,
            "up": list(self.up),
            "down": list(self.down),
            "notes": list(self.notes),
            "text": self.text,
            "risk": risk,
            "safe": self.safe,
            "files": [f.to_document() for f in self.files],
        }


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """Whether the migrations build the schema ``source`` describes: ``differences`` lists
    what they build that the source lacks (``added``), what the source has that they do not
    build (``missing``), and what differs (``changed``). Notes (column order) do not fail."""

    source: str
    source_kind: str
    engine: str
    differences: tuple[Difference, ...] = ()

    @property
    def ok(self) -> bool:
        return all(d.note for d in self.differences)

    def to_document(self) -> dict[str, object]:
        """The ``lamina check-schema --json`` document (docs/json.md)."""
        from lamina.documents import difference_part

        return {
            "schema_version": DOCUMENT_SCHEMA_VERSION,
            "ok": self.ok,
            "source": self.source,
            "source_kind": self.source_kind,
            "engine": self.engine,
            "differences": [difference_part(d) for d in self.differences],
        }
