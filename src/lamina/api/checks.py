"""Checking migration files without changing anything: ``validate``, ``lint`` and the order
lamina applies them in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lamina.api.drift import drift_problems, survey
from lamina.api.results import LintEntry, LintResult, LintTarget, ValidationResult
from lamina.api.session import Session
from lamina.caching import default_cache_dir
from lamina.config import Settings
from lamina.discovery import ScanResult
from lamina.engines import ENGINES, EngineSpec, risk_facts, spec_for
from lamina.errors import BackendError, MigrationLoadError, UsageError, ValidationError
from lamina.findings_cache import FindingsCache
from lamina.loader import load_migration
from lamina.migration_set import MigrationSet
from lamina.models import Direction, MigrationFile, MigrationState, Problem, Severity
from lamina.risk import LiveFacts, ParseCache
from lamina.safety import assess, check_transaction_control

__all__ = ["lint", "matches", "ordered_files", "validate"]


def validate(session: Session, *, applied_too: bool = True) -> ValidationResult:
    """See :meth:`lamina.api.Lamina.validate`."""
    scanned = session.scan()
    migrations, status = survey(session, scanned, scanned.problems, drift=True)
    # An applied file whose checksum is the one applied loaded when it was applied.
    skip = set() if applied_too else {m.id for m in status.in_state(MigrationState.APPLIED)}
    found = [*_load_problems(session, scanned, skip), *migrations.problems]
    found += drift_problems(status, modified=Severity.ERROR)
    found += [
        Problem(Severity.ERROR, f"schema drift: {d} (changed outside lamina)", code="drift")
        for d in status.drift or ()
    ]
    # A migration that failed half-way, and what it left, are the database's problems too.
    found += [p for p in status.findings if p.code in ("dirty", "leftover")]
    return ValidationResult(tuple(found), len(scanned.files), status)


def _load_problems(session: Session, scanned: ScanResult, skip: set[str]) -> list[Problem]:
    """Load every file but those in ``skip``: imports .py files (never up/down), checks risk
    allowances and, in .sql files, transaction control in a transactional section."""
    settings = session.settings
    dialect = session.dialect()
    unreadable = {p.path for p in scanned.problems}
    store = session.files.store  # a .sql file's load depends on its text and the dialect only
    problems = []
    for file in scanned.files:
        if file.path in unreadable or file.id in skip:
            continue
        kept = store if file.kind == "sql" else None
        if kept is not None and kept.loads_cleanly(file, dialect):
            continue
        try:
            load_migration(
                file,
                allow_unsafe=settings.allow_unsafe_migrations,
                dialect=dialect,
                scanned=scanned.sources.get(file.path),
            )
        except MigrationLoadError as exc:
            problems.append(Problem(Severity.ERROR, exc.problem, file.path, exc.line))
        else:
            if kept is not None:
                kept.mark_clean(file, dialect)
    if store is not None:
        store.save({file.path.name for file in scanned.files})
    return problems


def ordered_files(session: Session) -> list[MigrationFile]:
    """See :meth:`lamina.api.Lamina.ordered_files`."""
    scanned = session.scan()
    migrations = MigrationSet.build(scanned.files, [], scanned.problems)
    if migrations.errors:
        raise ValidationError(migrations.errors)
    return migrations.ordered()


def lint(
    session: Session,
    selection: Sequence[str],
    *,
    dialect: str | None = None,
    server_version: str | None = None,
) -> LintResult:
    """See :meth:`lamina.api.Lamina.lint`."""
    settings = session.settings
    scanned = session.scan()
    files = _select(scanned.files, selection, settings)
    target = lint_target(session, dialect, server_version)
    entries: list[LintEntry] = []
    problems = list(scanned.problems)
    cache = ParseCache()  # the up's statements, parsed for the up, serve the down's analysis
    kept = FindingsCache.open(default_cache_dir(), target.dialect, target.facts)
    for file in files:
        try:
            migration = load_migration(
                file,
                allow_unsafe=settings.allow_unsafe_migrations,
                dialect=target.dialect,
                scanned=scanned.sources.get(file.path),
            )
        except MigrationLoadError as exc:
            problems.append(Problem(Severity.ERROR, exc.problem, file.path, exc.line))
            continue
        category, reversible = file.meta.category.value, file.meta.reversible
        risks = []
        for direction in (Direction.UP, Direction.DOWN):
            recorded, risk = assess(
                migration, file.id, direction=direction, dialect=target.dialect,
                category=category, reversible=reversible, facts=target.facts,
                transactional=file.meta.runs_in_transaction(direction), parse_cache=cache,
                findings_cache=kept,
            )  # fmt: skip
            risks.append(risk)
            refused = check_transaction_control(file, direction, recorded, target.dialect)
            if refused is not None:
                problems.append(
                    Problem(Severity.ERROR, refused.problem, file.path, refused.line, "load")
                )
        entries.append(LintEntry(file, risks[0], risks[1]))
    kept.save()
    return LintResult(tuple(entries), tuple(problems), target)


def lint_target(session: Session, dialect: str | None, server_version: str | None) -> LintTarget:
    """What lint judges the SQL against: a dialect named on the command line (offline), or
    the configured database's engine with its live facts when it can be reached.

    Raises:
        UsageError: an unknown ``--dialect``, a malformed ``--server-version``, or a server
            version without a dialect to go with it on an unreachable database.
    """
    version = _parse_version(server_version)
    if dialect is not None:
        spec, flavor = _engine_named(dialect)
        facts = LiveFacts(server_version=version, flavor=flavor)
        note = f"linted offline as {spec.title} SQL (--dialect {dialect})"
        return LintTarget(spec.dialect, facts, note, live=False)
    settings = session.settings
    spec = spec_for(settings.database_url)
    if settings.database_origin.source == "default":
        note = (
            f"no database URL or --dialect given: linted as {spec.title} SQL, lamina's default "
            "engine (pass --dialect postgresql|mysql|mariadb|sqlite|duckdb to choose)"
        )
        return LintTarget(spec.dialect, LiveFacts(server_version=version), note, live=False)
    try:
        with session.reader() as (backend, _):
            facts = risk_facts(backend) if backend.exists() else LiveFacts()
    except BackendError as exc:
        note = (
            f"could not read the database ({exc.message}): linted as {spec.title} SQL without "
            "its live facts (indexes, sizes, server version)"
        )
        return LintTarget(spec.dialect, LiveFacts(server_version=version), note, live=False)
    if version is not None:
        facts = replace(facts, server_version=version)
    return LintTarget(spec.dialect, facts, f"linted against {settings.database_url.redacted()}")


def _engine_named(name: str) -> tuple[EngineSpec, str | None]:
    """The engine of ``--dialect NAME`` (an engine, a URL scheme or a sqlglot dialect;
    ``mariadb`` is MySQL's dialect with MariaDB's online DDL), and its flavour."""
    key = name.strip().lower()
    if key == "mariadb":
        return ENGINES["mysql"], "mariadb"
    for spec in ENGINES.values():
        if key in (spec.name, spec.dialect, *spec.schemes):
            return spec, "mysql" if spec.name == "mysql" else None
    known = "postgresql, mysql, mariadb, sqlite, duckdb"
    raise UsageError("--dialect", "command line", f"unknown dialect {name!r} (known: {known})")


def _parse_version(text: str | None) -> tuple[int, ...] | None:
    """``16``, ``8.0.36`` or ``10.11`` as a tuple of numbers."""
    if text is None:
        return None
    parts = text.strip().split(".")
    if not all(part.isdigit() for part in parts):
        raise UsageError(
            "--server-version",
            "command line",
            f"{text!r} is not a version",
            hint="write it as numbers and dots, e.g. 16, 8.0.36 or 10.11",
        )
    return tuple(int(part) for part in parts)


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
