"""Checking migration files without changing anything: ``validate``, ``lint`` and the order
lamina applies them in."""

from __future__ import annotations

from collections.abc import Sequence

from lamina.api.drift import drift_problems, survey
from lamina.api.results import LintEntry, LintResult, ValidationResult
from lamina.api.session import Session
from lamina.config import Settings
from lamina.errors import MigrationLoadError, UsageError, ValidationError
from lamina.loader import load_migration
from lamina.migration_set import MigrationSet
from lamina.models import Direction, MigrationFile, Problem, Severity
from lamina.risk import LiveFacts
from lamina.safety import assess, check_transaction_control

__all__ = ["lint", "matches", "ordered_files", "validate"]


def validate(session: Session) -> ValidationResult:
    """See :meth:`lamina.api.Lamina.validate`."""
    settings = session.settings
    scanned = session.scan()
    problems = list(scanned.problems)
    unreadable = {p.path for p in scanned.problems}
    for file in scanned.files:
        if file.path not in unreadable:
            try:
                # imports .py files (never up/down), checks risk allowances and, in .sql
                # files, transaction control in a transactional section
                load_migration(
                    file, allow_unsafe=settings.allow_unsafe_migrations, dialect=session.dialect()
                )
            except MigrationLoadError as exc:
                problems.append(Problem(Severity.ERROR, exc.problem, file.path, exc.line))
    migrations, status = survey(session, scanned, problems, drift=True)
    found = [*migrations.problems, *drift_problems(status, modified=Severity.ERROR)]
    found += [
        Problem(Severity.ERROR, f"schema drift: {d} (changed outside lamina)", code="drift")
        for d in status.drift or ()
    ]
    # A migration that failed half-way, and what it left, are the database's problems too.
    found += [p for p in status.findings if p.code in ("dirty", "leftover")]
    return ValidationResult(tuple(found), len(scanned.files), status)


def ordered_files(session: Session) -> list[MigrationFile]:
    """See :meth:`lamina.api.Lamina.ordered_files`."""
    scanned = session.scan()
    migrations = MigrationSet.build(scanned.files, [], scanned.problems)
    if migrations.errors:
        raise ValidationError(migrations.errors)
    return migrations.ordered()


def lint(session: Session, selection: Sequence[str]) -> LintResult:
    """See :meth:`lamina.api.Lamina.lint`."""
    settings = session.settings
    scanned = session.scan()
    files = _select(scanned.files, selection, settings)
    with session.reader() as (backend, _):
        facts = backend.risk_facts() if backend.exists() else LiveFacts()
    dialect = session.dialect()
    entries: list[LintEntry] = []
    problems = list(scanned.problems)
    for file in files:
        try:
            migration = load_migration(
                file, allow_unsafe=settings.allow_unsafe_migrations, dialect=dialect
            )
        except MigrationLoadError as exc:
            problems.append(Problem(Severity.ERROR, exc.problem, file.path, exc.line))
            continue
        category, reversible = file.meta.category.value, file.meta.reversible
        up_sql, up_risk = assess(
            migration, file.id, direction=Direction.UP, dialect=dialect,
            category=category, reversible=reversible, facts=facts,
        )  # fmt: skip
        down_sql, down_risk = assess(
            migration, file.id, direction=Direction.DOWN, dialect=dialect,
            category=category, reversible=reversible, facts=facts,
        )  # fmt: skip
        for direction, recorded in ((Direction.UP, up_sql), (Direction.DOWN, down_sql)):
            refused = check_transaction_control(file, direction, recorded, dialect)
            if refused is not None:
                problems.append(
                    Problem(Severity.ERROR, refused.problem, file.path, refused.line, "load")
                )
        entries.append(LintEntry(file, up_risk, down_risk))
    return LintResult(tuple(entries), tuple(problems))


def matches(file: MigrationFile, ref: str) -> bool:
    """Whether ``ref`` names ``file``: its id (``004_name``), its version (``4``) or the
    version zero-padded (``004``), as in the file name."""
    ref = ref.strip()
    return ref == file.id or (ref.isdigit() and int(ref) == file.version)


def _select(
    files: Sequence[MigrationFile], selection: Sequence[str], settings: Settings
) -> list[MigrationFile]:
    """The files ``selection`` names (ids, versions, zero-padded versions), in order; every
    file when empty.

    Raises:
        UsageError: a name matches no file (exit 2), listing every such name.
    """
    if not selection:
        return sorted(files, key=lambda f: (f.version, f.id))
    chosen = [f for f in files if any(matches(f, name) for name in selection)]
    unknown = [name for name in selection if not any(matches(f, name) for f in files)]
    if unknown:
        origin = settings.migrations_dir_origin
        raise UsageError(
            "ID", "command line", f"no migration {', '.join(unknown)} in {settings.migrations_dir}",
            hint=f"`lamina status` lists the migrations ({origin})",
        )  # fmt: skip
    return sorted(chosen, key=lambda f: (f.version, f.id))
